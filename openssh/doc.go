// Package openssh makes the machine's real OpenSSH server accept Latch's certificates, and
// only when the directory says so.
//
// It holds the four pieces the machine agent needs: the local account name and UID of a
// directory user (names.go); the sshd drop-in that trusts the tenant's SSH CA and asks the
// agent about every login of a directory user, installed and removed so that the original
// configuration comes back byte for byte (dropin*.go); the logic of the
// AuthorizedPrincipalsCommand, which prints a principal only when every certificate check
// passes and the decision allows (principals.go); and those certificate checks
// (check.go).
//
// What it must not do: decide access itself (the agent's decision function does that, and
// this package only fails closed around it), touch accounts without an '@' (local and
// break-glass accounts keep working exactly as before), map anyone to root without an
// explicit rule, or link the server's store: it runs on every machine, and deps_test.go
// checks that it never pulls in the control plane's database code.
package openssh
