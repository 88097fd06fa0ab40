package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/openssh"
	"github.com/latchsh/latch/token"
)

const (
	testTenant = "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"
	testVM     = "/subscriptions/1f2e3d4c-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	testCorr   = "6b1f0e3a-2c4d-4e5f-8a9b-0c1d2e3f4a5b"
)

// certFixture is a tenant's SSH CA and one user key.
type certFixture struct {
	ca      *token.SSHCA
	priv    ed25519.PrivateKey
	userJWK []byte
}

func newCertFixture(t testing.TB) *certFixture {
	t.Helper()
	ca, err := token.NewSSHCA()
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := token.SSHPublicKeyJWK(signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return &certFixture{ca: ca, priv: priv, userJWK: jwk}
}

// issue signs a certificate for u on testVM at now, after change.
func (f *certFixture) issue(t testing.TB, u machineapi.LoginUser, now time.Time, change func(*token.SSHCertRequest)) *ssh.Certificate {
	t.Helper()
	req := token.SSHCertRequest{TenantID: testTenant, UserID: u.ObjectID, UPN: u.UserPrincipalName, KeyID: testCorr,
		Principals: []string{u.LocalName}, MachineResourceID: testVM, PublicKeyJWK: f.userJWK,
		ValidFor: 10 * time.Minute, Now: now}
	if change != nil {
		change(&req)
	}
	cert, err := token.IssueSSHCert(f.ca.Signer(), req)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// loginUser is a directory user whose local name follows from upn.
func loginUser(oid, upn string, admin bool) machineapi.LoginUser {
	return machineapi.LoginUser{ObjectID: oid, UserPrincipalName: upn, LocalName: openssh.LocalName(upn), Admin: admin}
}

// request is what sshd would pass for cert and user.
func request(user string, cert *ssh.Certificate) decisionRequest {
	return decisionRequest{User: user, KeyType: cert.Type(), Cert: base64.StdEncoding.EncodeToString(cert.Marshal())}
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testUIDs are the accounts newTestLogin's Login sees: the test users', made for them.
var testUIDs = map[string]int{
	"alice@contoso.test": openssh.UID(aliceOID),
	"bob@contoso.test":   openssh.UID(bobOID),
}

// newTestLogin is a Login on a temporary state directory whose accounts are testUIDs.
func newTestLogin(t testing.TB, clock *fakeClock) *Login {
	t.Helper()
	dir := t.TempDir()
	lg, err := NewLogin(LoginOptions{StateDir: dir, Command: []string{"/usr/bin/true"}, SocketPath: filepath.Join(dir, "decide.sock"),
		Logger: quietLogger(), Now: clock.now, NoSyslog: true})
	if err != nil {
		t.Fatal(err)
	}
	lg.lookupUID = func(name string) (int, error) { return testUIDs[name], nil }
	return lg
}
