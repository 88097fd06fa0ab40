// Package agent is the machine side of Latch: it onboards a machine with a one-time token
// (Connect), keeps the machine's key pair and what the control plane said of it (State), and
// serves the instance metadata service with tokens the control plane mints for the machine's
// managed identity (Source, Run).
//
// While it runs it follows the control plane's goal state (Follower): it long-polls for each
// new version and runs the login extensions it names as Azure's do — operating system check,
// tenant from its own metadata service, device registration with a managed-identity token,
// then the hand-over to the LoginSetup that configures OpenSSH. What it applied, the device it
// joined as and any status not yet acknowledged are kept in the state directory, so a restart
// of either side repeats nothing and loses nothing. ReadStatus and Doctor read that state and
// run the article's troubleshooting checks for "latch agent status" and "latch agent doctor".
//
// It speaks to the control plane only over its HTTP API, signing every request with the
// machine's own key; it must not link the server's store or any database driver.
package agent
