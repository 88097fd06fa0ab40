package openssh

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/token"
)

// principalsCase is one call of the principals command.
type principalsCase struct {
	name    string
	req     func(*PrincipalsRequest)
	decide  DecideFunc
	want    string // in the error
	refusal bool   // the error is a *Refusal, not a failure to decide
}

func allow(context.Context, Login) (Decision, error) { return Decision{Allow: true}, nil }

func uidOf(uid int) func(string) (int, error) { return func(string) (int, error) { return uid, nil } }

func (f *certFixture) principalsRequest(c *ssh.Certificate) PrincipalsRequest {
	return PrincipalsRequest{User: testUser, KeyType: c.Type(), Cert: certArg(c), CAKeys: f.caKeys(),
		VMResourceID: testVM, Now: testNow, LookupUID: uidOf(UID(testOID))}
}

func TestPrincipalsRefusals(t *testing.T) {
	f := newCertFixture(t)
	good := f.issue(t, nil)
	withCert := func(c *ssh.Certificate) func(*PrincipalsRequest) {
		return func(r *PrincipalsRequest) { r.Cert, r.KeyType = certArg(c), c.Type() }
	}
	cases := []principalsCase{
		{"fail/principal-mismatch", func(r *PrincipalsRequest) { r.User = "bob@contoso.test" }, allow, "not for", true},
		{"fail/local-account-name", func(r *PrincipalsRequest) { r.User = "alice" }, allow, "not a directory account", true},
		{"fail/root-by-name", func(r *PrincipalsRequest) { r.User = "root" }, allow, "not a directory account", true},
		{"fail/root-mapping-by-uid", func(r *PrincipalsRequest) { r.LookupUID = uidOf(0) }, allow, "root account", true},
		{"fail/root-mapping-without-explicit-rule", func(r *PrincipalsRequest) { r.LookupUID = uidOf(0) },
			func(context.Context, Login) (Decision, error) {
				return Decision{Allow: true, Reason: "VM Administrator Login"}, nil
			}, "no rule allows root", true},
		{"fail/unknown-account", func(r *PrincipalsRequest) {
			r.LookupUID = func(string) (int, error) { return 0, errors.New("no such user") }
		}, allow, "looking up", false},
		{"fail/empty-principals", withCert(f.forge(t, f.ca.Signer(), func(c *ssh.Certificate) { c.ValidPrincipals = nil })), allow, "no principal", true},
		{"fail/expired", func(r *PrincipalsRequest) { r.Now = testNow.Add(time.Hour) }, allow, "expired", true},
		{"fail/not-yet-valid", func(r *PrincipalsRequest) { r.Now = testNow.Add(-time.Hour) }, allow, "not valid yet", true},
		{"fail/host-cert", withCert(f.forge(t, f.ca.Signer(), func(c *ssh.Certificate) { c.CertType = ssh.HostCert })), allow, "host certificate", true},
		{"fail/untrusted-ca", withCert(f.forge(t, f.otherCA.Signer(), func(*ssh.Certificate) {})), allow, "untrusted CA", true},
		{"fail/no-trusted-ca-configured", func(r *PrincipalsRequest) { r.CAKeys = nil }, allow, "untrusted CA", true},
		{"fail/unknown-critical-option", withCert(f.forge(t, f.ca.Signer(), func(c *ssh.Certificate) { c.CriticalOptions["x@y"] = "1" })), allow, "critical option", true},
		{"fail/other-vm", func(r *PrincipalsRequest) { r.VMResourceID = otherVM }, allow, "another machine", true},
		{"fail/foreign-key-id", withCert(f.forge(t, f.ca.Signer(), func(c *ssh.Certificate) { c.KeyId = "alice" })), allow, "not a Latch certificate", true},
		{"fail/no-object-id", withCert(f.forge(t, f.ca.Signer(), func(c *ssh.Certificate) { delete(c.Extensions, token.SSHCertExtensionObjectID) })), allow, "no user", true},
		{"fail/plain-key", func(r *PrincipalsRequest) {
			r.Cert, r.KeyType = certArg2(f.userKey.PublicKey()), f.userKey.PublicKey().Type()
		}, allow, "not a certificate", true},
		{"fail/key-type-mismatch", func(r *PrincipalsRequest) { r.KeyType = ssh.CertAlgoRSAv01 }, allow, "does not match", true},
		{"fail/not-base64", func(r *PrincipalsRequest) { r.Cert = "%%%" }, allow, "not base64", true},
		{"fail/garbage", func(r *PrincipalsRequest) { r.Cert = "AAAA" }, allow, "does not parse", true},
		{"fail/huge-argument", func(r *PrincipalsRequest) { r.Cert = strings.Repeat("A", maxCertArg+4) }, allow, "too large", true},
		{"fail/decision-deny", nil, func(context.Context, Login) (Decision, error) {
			return Decision{Reason: "no Virtual Machine User Login role"}, nil
		}, "no Virtual Machine User Login role", true},
		{"fail/decision-error", nil, func(context.Context, Login) (Decision, error) {
			return Decision{Allow: true}, errors.New("cache unreadable")
		}, "cache unreadable", false},
		{"fail/decision-timeout", func(r *PrincipalsRequest) { r.Timeout = 20 * time.Millisecond },
			func(ctx context.Context, _ Login) (Decision, error) {
				time.Sleep(time.Second)
				return Decision{Allow: true}, nil
			}, "no decision within", false},
		{"fail/no-decision-function", nil, nil, "no decision function", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := f.principalsRequest(good)
			if tc.req != nil {
				tc.req(&req)
			}
			var out bytes.Buffer
			_, err := Principals(context.Background(), &out, req, tc.decide)
			if out.Len() != 0 {
				t.Fatalf("printed %q; a refused login must print nothing", out.String())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || IsRefusal(err) != tc.refusal {
				t.Fatalf("error %v, want one containing %q (refusal %v)", err, tc.want, tc.refusal)
			}
		})
	}
}

func certArg2(k ssh.PublicKey) string { return certArgBytes(k.Marshal()) }

func TestPrincipalsAllows(t *testing.T) {
	f := newCertFixture(t)
	cert := f.issue(t, nil)
	var seen Login
	decide := func(_ context.Context, l Login) (Decision, error) { seen = l; return Decision{Allow: true}, nil }
	var out bytes.Buffer
	login, err := Principals(context.Background(), &out, f.principalsRequest(cert), decide)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != testUser+"\n" {
		t.Fatalf("printed %q", out.String())
	}
	want := token.SSHKeyID{CorrelationID: testCorr, TenantID: testTenant, ObjectID: testOID, UPN: testUPN}
	if seen.KeyID != want || seen.ObjectID != testOID || seen.TenantID != testTenant || seen.User != testUser || login.KeyID != want {
		t.Fatalf("the decision saw %+v", seen)
	}
	t.Run("ok/root-with-explicit-rule", func(t *testing.T) {
		req := f.principalsRequest(cert)
		req.LookupUID = uidOf(0)
		out.Reset()
		_, err := Principals(context.Background(), &out, req, func(context.Context, Login) (Decision, error) {
			return Decision{Allow: true, AllowRoot: true}, nil
		})
		if err != nil || out.String() != testUser+"\n" {
			t.Fatalf("%q %v", out.String(), err)
		}
	})
}

func TestParseCommandArgs(t *testing.T) {
	if _, err := ParseCommandArgs([]string{"a@b", "t"}); err == nil {
		t.Error("fail/two-arguments accepted")
	}
	if _, err := ParseCommandArgs([]string{"a@b", "t", "k", "extra"}); err == nil {
		t.Error("fail/four-arguments accepted")
	}
	r, err := ParseCommandArgs([]string{"a@b", "t", "k"})
	if err != nil || r.User != "a@b" || r.KeyType != "t" || r.Cert != "k" {
		t.Errorf("ok/three: %+v %v", r, err)
	}
}
