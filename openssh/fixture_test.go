package openssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"maps"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/token"
)

const (
	testTenant = "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"
	testOID    = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	testUPN    = "Alice@Contoso.test"
	testUser   = "alice@contoso.test"
	testVM     = "/subscriptions/1f2e3d4c-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	otherVM    = "/subscriptions/1f2e3d4c-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2"
	testCorr   = "6b1f0e3a-2c4d-4e5f-8a9b-0c1d2e3f4a5b"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// certFixture is a tenant CA, a second (untrusted) CA and a user's key.
type certFixture struct {
	ca, otherCA *token.SSHCA
	userKey     ssh.Signer
	userPriv    ed25519.PrivateKey
	userJWK     []byte
}

func newCertFixture(t testing.TB) *certFixture {
	t.Helper()
	ca, err := token.NewSSHCA()
	if err != nil {
		t.Fatal(err)
	}
	other, err := token.NewSSHCA()
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
	return &certFixture{ca: ca, otherCA: other, userKey: signer, userPriv: priv, userJWK: jwk}
}

// request is a good request for alice on testVM at testNow.
func (f *certFixture) request() token.SSHCertRequest {
	return token.SSHCertRequest{TenantID: testTenant, UserID: testOID, UPN: testUPN, KeyID: testCorr,
		Principals: []string{LocalName(testUPN)}, MachineResourceID: testVM, PublicKeyJWK: f.userJWK,
		ValidFor: 10 * time.Minute, Now: testNow}
}

// issue signs a certificate through the token service's own code, after change.
func (f *certFixture) issue(t testing.TB, change func(*token.SSHCertRequest)) *ssh.Certificate {
	t.Helper()
	req := f.request()
	if change != nil {
		change(&req)
	}
	cert, err := token.IssueSSHCert(f.ca.Signer(), req)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// forge re-signs a good certificate after change, with signer: the way to make certificates
// the token service refuses to issue (no principals, host type, odd options).
func (f *certFixture) forge(t testing.TB, signer ssh.Signer, change func(*ssh.Certificate)) *ssh.Certificate {
	t.Helper()
	return forgeFrom(t, f.issue(t, nil), signer, change)
}

// forgeFrom is forge starting from base, which it does not modify.
func forgeFrom(t testing.TB, base *ssh.Certificate, signer ssh.Signer, change func(*ssh.Certificate)) *ssh.Certificate {
	t.Helper()
	c := *base
	c.Permissions = ssh.Permissions{CriticalOptions: maps.Clone(base.CriticalOptions), Extensions: maps.Clone(base.Extensions)}
	c.ValidPrincipals = slices.Clone(base.ValidPrincipals)
	change(&c)
	if err := signUnchecked(&c, signer); err != nil {
		t.Fatal(err)
	}
	return &c
}

// signUnchecked signs c the way SignCert does but without its refusals (no principals, an
// empty one), since a test must be able to present what a broken CA would have made. The
// signature covers the marshalled certificate without its signature field.
func signUnchecked(c *ssh.Certificate, signer ssh.Signer) error {
	c.Nonce = make([]byte, 32)
	if _, err := rand.Read(c.Nonce); err != nil {
		return err
	}
	c.SignatureKey = signer.PublicKey()
	c.Signature = nil
	body := c.Marshal()
	sig, err := signer.Sign(rand.Reader, body[:len(body)-4]) // drop the empty signature's length
	if err != nil {
		return err
	}
	c.Signature = sig
	return nil
}

func certArg(c *ssh.Certificate) string { return base64.StdEncoding.EncodeToString(c.Marshal()) }

func (f *certFixture) caKeys() []ssh.PublicKey { return []ssh.PublicKey{f.ca.PublicKey()} }
