package openssh

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/token"
)

// Refusal is the error CheckCert and Principals return when a login must not go ahead. Reason
// says why in words for the machine's log; sshd itself only ever sees no principal.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return "login refused: " + r.Reason }

func refuse(format string, a ...any) error { return &Refusal{Reason: fmt.Sprintf(format, a...)} }

// IsRefusal reports whether err is a Refusal (a certificate or decision said no) rather than
// a failure to decide (which also refuses, but is worth an alert).
func IsRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}

// knownCriticalOptions are the critical options OpenSSH enforces itself. Any other one is a
// restriction nobody would enforce, so the certificate is refused (PROTOCOL.certkeys).
var knownCriticalOptions = []string{"force-command", "source-address"}

// maxLifetime is the longest validity window accepted: what the token service may issue plus
// its backdating and a minute for a clock that runs ahead. A longer window means the
// certificate did not come from Latch's rules, whoever signed it.
const maxLifetime = token.MaxSSHCertValidity + token.SSHCertSkew + time.Minute

// CheckCert is the agent's check of a certificate presented for a login on this machine,
// done before any access decision. It returns nil only when cert is a user certificate (not
// a host certificate), signed by one of caKeys (the signature verified), valid at now, for at
// most maxLifetime, with at least one principal, bound by token.SSHCertExtensionVM to
// vmResourceID (compared case-insensitively, as Azure resource ids are), with no critical
// option OpenSSH would not enforce. Otherwise it returns a *Refusal saying which check failed.
// Whether the login name is one of the principals is Principals' question, not this one's.
func CheckCert(cert *ssh.Certificate, caKeys []ssh.PublicKey, vmResourceID string, now time.Time) error {
	if cert == nil {
		return refuse("no certificate")
	}
	if err := checkShape(cert); err != nil {
		return err
	}
	if !trusted(cert.SignatureKey, caKeys) {
		return refuse("certificate signed by an untrusted CA (%s)", ssh.FingerprintSHA256(cert.SignatureKey))
	}
	if err := checkValidity(cert, now); err != nil {
		return err
	}
	if err := checkBinding(cert, vmResourceID); err != nil {
		return err
	}
	return verifySignature(cert, now)
}

// checkShape refuses what is wrong with the certificate whatever signed it.
func checkShape(cert *ssh.Certificate) error {
	if cert.CertType != ssh.UserCert {
		return refuse("a host certificate cannot be used to log in as a user")
	}
	if _, nested := cert.Key.(*ssh.Certificate); nested {
		return refuse("the certificate certifies another certificate")
	}
	// x/crypto and OpenSSH read an empty list as "any user".
	if len(cert.ValidPrincipals) == 0 {
		return refuse("the certificate names no principal")
	}
	if slices.Contains(cert.ValidPrincipals, "") {
		return refuse("the certificate names an empty principal")
	}
	for name := range cert.CriticalOptions {
		if !slices.Contains(knownCriticalOptions, name) {
			return refuse("the certificate has unknown critical option %q", name)
		}
	}
	return nil
}

func trusted(signer ssh.PublicKey, caKeys []ssh.PublicKey) bool {
	if signer == nil {
		return false
	}
	want := signer.Marshal()
	return slices.ContainsFunc(caKeys, func(k ssh.PublicKey) bool { return k != nil && bytes.Equal(k.Marshal(), want) })
}

// checkValidity follows OpenSSH: valid from ValidAfter up to, not including, ValidBefore.
func checkValidity(cert *ssh.Certificate, now time.Time) error {
	t := uint64(now.Unix())
	switch {
	case now.Unix() < 0 || t < cert.ValidAfter:
		return refuse("the certificate is not valid yet (from %s)", unixTime(cert.ValidAfter))
	case t >= cert.ValidBefore:
		return refuse("the certificate expired at %s", unixTime(cert.ValidBefore))
	case cert.ValidBefore-cert.ValidAfter > uint64(maxLifetime/time.Second):
		return refuse("the certificate is valid for longer than Latch issues (%s to %s)",
			unixTime(cert.ValidAfter), unixTime(cert.ValidBefore))
	}
	return nil
}

func unixTime(s uint64) string {
	if s > 1<<62 {
		return "forever"
	}
	return time.Unix(int64(s), 0).UTC().Format(time.RFC3339)
}

func checkBinding(cert *ssh.Certificate, vmResourceID string) error {
	if vmResourceID == "" {
		return refuse("this machine does not know its resource id, so no certificate can be bound to it")
	}
	got, ok := cert.Extensions[token.SSHCertExtensionVM]
	if !ok {
		return refuse("the certificate is not bound to a machine")
	}
	if !strings.EqualFold(got, vmResourceID) {
		return refuse("the certificate is for another machine (%s)", got)
	}
	return nil
}

// verifySignature has x/crypto verify the CA's signature over the certificate (and repeat
// the validity and critical-option checks, which costs nothing). Principals are checked
// against the first one, which is in the list by construction: the point is the signature.
func verifySignature(cert *ssh.Certificate, now time.Time) error {
	checker := ssh.CertChecker{
		IsUserAuthority:          func(ssh.PublicKey) bool { return true }, // trusted() decided
		SupportedCriticalOptions: knownCriticalOptions,
		Clock:                    func() time.Time { return now },
	}
	if err := checker.CheckCert(cert.ValidPrincipals[0], cert); err != nil {
		return refuse("the certificate does not verify: %v", err)
	}
	return nil
}
