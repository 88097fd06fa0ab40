package openssh

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/token"
)

// CommandTokens are the sshd tokens the drop-in appends to the principals command, in this
// order: the account name (%u), the key type (%t) and the certificate itself, base64 (%k).
// The certificate is passed whole because the machine binding lives in an extension sshd
// does not read, and because it is the key that actually authenticates (CVE-2024-45337's
// lesson: decide on that key, not on one seen earlier). %C is left out: OpenSSH 9.2 accepts
// it in the configuration and then fails the login.
var CommandTokens = []string{"%u", "%t", "%k"}

// DefaultDecisionTimeout bounds the decision: sshd waits for the command while the person
// waits for a prompt, and a decision that does not come is a refusal.
const DefaultDecisionTimeout = 5 * time.Second

// maxCertArg caps the %k argument: an 8192-bit RSA key's certificate is under 3 KiB in base64.
const maxCertArg = 16 << 10

// Decision is the agent's answer for one login.
type Decision struct {
	Allow bool
	// AllowRoot is the explicit rule that lets a login reach an account with UID 0. Without
	// it such a login is refused even when Allow is set.
	AllowRoot bool
	Reason    string // for the machine's log
}

// DecideFunc decides one login. It is called only for a certificate that passed CheckCert
// and names the account as a principal. An error refuses the login.
type DecideFunc func(ctx context.Context, login Login) (Decision, error)

// Login is what the decision is about.
type Login struct {
	User     string           // the local account sshd asks about
	Cert     *ssh.Certificate // the certificate that authenticates, checked
	KeyID    token.SSHKeyID   // parsed from the certificate: correlation id, tenant, object id, UPN
	TenantID string           // from token.SSHCertExtensionTenant
	ObjectID string           // from token.SSHCertExtensionObjectID
}

// PrincipalsRequest is one call of the principals command.
type PrincipalsRequest struct {
	User    string // %u
	KeyType string // %t
	Cert    string // %k
	// CAKeys are the tenant CA keys the agent trusts; VMResourceID is this machine's id.
	CAKeys       []ssh.PublicKey
	VMResourceID string
	Now          time.Time
	Timeout      time.Duration                  // 0: DefaultDecisionTimeout
	LookupUID    func(name string) (int, error) // nil: the system's account database
}

// ParseCommandArgs splits the arguments sshd passes after the command's own (CommandTokens)
// into a request; the caller fills in the rest. It returns an error unless there are exactly
// three.
func ParseCommandArgs(args []string) (PrincipalsRequest, error) {
	if len(args) != len(CommandTokens) {
		return PrincipalsRequest{}, fmt.Errorf("want %d arguments (%s), got %d",
			len(CommandTokens), strings.Join(CommandTokens, " "), len(args))
	}
	return PrincipalsRequest{User: args[0], KeyType: args[1], Cert: args[2]}, nil
}

// Principals is what the AuthorizedPrincipalsCommand does: it writes req.User and a newline
// to w when the certificate passes CheckCert, names req.User as a principal, req.User is a
// directory account (LocalName's form), and decide allows in time — root (UID 0) only with
// Decision.AllowRoot. Otherwise it writes nothing, so sshd refuses. It returns the login it
// decided on (as far as it got, for the audit log) and nil when it allowed, a *Refusal when a
// check or the decision said no, or another error when it could not decide.
func Principals(ctx context.Context, w io.Writer, req PrincipalsRequest, decide DecideFunc) (Login, error) {
	login, err := checkLogin(req)
	if err != nil {
		return login, err
	}
	d, err := decideInTime(ctx, req.Timeout, login, decide)
	if err != nil {
		return login, err
	}
	if !d.Allow {
		return login, refuse("access denied: %s", orDefault(d.Reason, "no rule allows it"))
	}
	if err := checkRoot(req, d); err != nil {
		return login, err
	}
	if _, err := io.WriteString(w, req.User+"\n"); err != nil {
		return login, fmt.Errorf("writing the principal: %w", err)
	}
	return login, nil
}

// checkLogin runs every check that needs no decision.
func checkLogin(req PrincipalsRequest) (Login, error) {
	login := Login{User: req.User}
	cert, err := parseCertArg(req.KeyType, req.Cert)
	if err != nil {
		return login, err
	}
	login.Cert = cert
	if err := CheckCert(cert, req.CAKeys, req.VMResourceID, req.Now); err != nil {
		return login, err
	}
	if req.User == "" || LocalName(req.User) != req.User {
		return login, refuse("%q is not a directory account name", req.User)
	}
	if !slices.Contains(cert.ValidPrincipals, req.User) {
		return login, refuse("the certificate is not for %q (principals %q)", req.User, cert.ValidPrincipals)
	}
	if login.KeyID, err = token.ParseSSHKeyID(cert.KeyId); err != nil {
		return login, refuse("not a Latch certificate: %v", err)
	}
	login.TenantID = cert.Extensions[token.SSHCertExtensionTenant]
	login.ObjectID = cert.Extensions[token.SSHCertExtensionObjectID]
	if login.ObjectID == "" || login.TenantID == "" {
		return login, refuse("the certificate names no user or tenant")
	}
	return login, nil
}

// parseCertArg decodes %k and checks it is the certificate type %t says.
func parseCertArg(keyType, b64 string) (*ssh.Certificate, error) {
	if len(b64) > maxCertArg {
		return nil, refuse("the certificate is too large")
	}
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, refuse("the certificate is not base64")
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, refuse("the certificate does not parse: %v", err)
	}
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		return nil, refuse("a plain key, not a certificate")
	}
	if cert.Type() != keyType {
		return nil, refuse("key type %q does not match the certificate's %q", keyType, cert.Type())
	}
	return cert, nil
}

// decideInTime calls decide and gives up after the timeout. A decide that panics takes the
// command down with it, which sshd also reads as a refusal.
func decideInTime(ctx context.Context, timeout time.Duration, login Login, decide DecideFunc) (Decision, error) {
	if decide == nil {
		return Decision{}, fmt.Errorf("no decision function")
	}
	if timeout <= 0 {
		timeout = DefaultDecisionTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		d   Decision
		err error
	}
	done := make(chan result, 1) // buffered: a late answer must not block the goroutine forever
	go func() {
		d, err := decide(ctx, login)
		done <- result{d, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return Decision{}, fmt.Errorf("deciding: %w", r.err)
		}
		return r.d, nil
	case <-ctx.Done():
		return Decision{}, fmt.Errorf("no decision within %v: %w", timeout, ctx.Err())
	}
}

// checkRoot refuses a login to an account with UID 0 unless the decision says so explicitly.
// An account whose UID cannot be read is refused too: that is not a state to log in to.
func checkRoot(req PrincipalsRequest, d Decision) error {
	lookup := req.LookupUID
	if lookup == nil {
		lookup = systemUID
	}
	uid, err := lookup(req.User)
	if err != nil {
		return fmt.Errorf("looking up account %q: %w", req.User, err)
	}
	if (uid == 0 || req.User == "root") && !d.AllowRoot {
		return refuse("%q is a root account and no rule allows root logins", req.User)
	}
	return nil
}

func systemUID(name string) (int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Uid)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
