package openssh

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/token"
)

func TestCheckCertRefusals(t *testing.T) {
	f := newCertFixture(t)
	trusted := f.ca.Signer()
	cases := []struct {
		name string
		cert func() *ssh.Certificate
		now  time.Time
		vm   string
		want string
	}{
		{"fail/no-certificate", func() *ssh.Certificate { return nil }, testNow, testVM, "no certificate"},
		{"fail/empty-principals", func() *ssh.Certificate {
			return f.forge(t, trusted, func(c *ssh.Certificate) { c.ValidPrincipals = nil })
		}, testNow, testVM, "no principal"},
		{"fail/empty-principal-entry", func() *ssh.Certificate {
			return f.forge(t, trusted, func(c *ssh.Certificate) { c.ValidPrincipals = []string{""} })
		}, testNow, testVM, "empty principal"},
		{"fail/expired", func() *ssh.Certificate { return f.issue(t, nil) }, testNow.Add(10 * time.Minute), testVM, "expired"},
		{"fail/expired-long-ago", func() *ssh.Certificate { return f.issue(t, nil) }, testNow.Add(48 * time.Hour), testVM, "expired"},
		{"fail/not-yet-valid", func() *ssh.Certificate { return f.issue(t, nil) }, testNow.Add(-token.SSHCertSkew - time.Second), testVM, "not valid yet"},
		{"fail/host-cert-as-user-cert", func() *ssh.Certificate {
			return f.forge(t, trusted, func(c *ssh.Certificate) { c.CertType = ssh.HostCert })
		}, testNow, testVM, "host certificate"},
		{"fail/untrusted-ca", func() *ssh.Certificate { return f.forge(t, f.otherCA.Signer(), func(*ssh.Certificate) {}) }, testNow, testVM, "untrusted CA"},
		{"fail/signature-by-other-key", func() *ssh.Certificate {
			c := f.forge(t, f.otherCA.Signer(), func(*ssh.Certificate) {})
			c.SignatureKey = f.ca.PublicKey() // claims the trusted CA, signed by another
			return c
		}, testNow, testVM, "does not verify"},
		{"fail/tampered-after-signing", func() *ssh.Certificate {
			c := f.issue(t, nil)
			c.ValidPrincipals = []string{"root"}
			return c
		}, testNow, testVM, "does not verify"},
		{"fail/unknown-critical-option", func() *ssh.Certificate {
			return f.forge(t, trusted, func(c *ssh.Certificate) { c.CriticalOptions["verify-everything@example"] = "" })
		}, testNow, testVM, "unknown critical option"},
		{"fail/other-vm", func() *ssh.Certificate { return f.issue(t, nil) }, testNow, otherVM, "another machine"},
		{"fail/no-vm-binding", func() *ssh.Certificate {
			return f.forge(t, trusted, func(c *ssh.Certificate) {
				c.Extensions = map[string]string{"permit-pty": ""}
			})
		}, testNow, testVM, "not bound"},
		{"fail/machine-without-id", func() *ssh.Certificate { return f.issue(t, nil) }, testNow, "", "resource id"},
		{"fail/lifetime-too-long", func() *ssh.Certificate {
			return f.forge(t, trusted, func(c *ssh.Certificate) { c.ValidBefore = ssh.CertTimeInfinity })
		}, testNow, testVM, "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCert(tc.cert(), f.caKeys(), tc.vm, tc.now)
			if err == nil || !IsRefusal(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a refusal containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckCertAccepts(t *testing.T) {
	f := newCertFixture(t)
	cases := map[string]struct {
		cert *ssh.Certificate
		cas  []ssh.PublicKey
		now  time.Time
		vm   string
	}{
		"ok/just-issued":               {f.issue(t, nil), f.caKeys(), testNow, testVM},
		"ok/clock-a-little-behind":     {f.issue(t, nil), f.caKeys(), testNow.Add(-30 * time.Second), testVM},
		"ok/last-second":               {f.issue(t, nil), f.caKeys(), testNow.Add(10*time.Minute - time.Second), testVM},
		"ok/vm-id-in-other-case":       {f.issue(t, nil), f.caKeys(), testNow, strings.ToLower(testVM)},
		"ok/second-ca-during-rotation": {f.issue(t, nil), []ssh.PublicKey{f.otherCA.PublicKey(), f.ca.PublicKey()}, testNow, testVM},
		"ok/force-command-is-enforced": {f.issue(t, func(r *token.SSHCertRequest) { r.ForceCommand = "/bin/true" }), f.caKeys(), testNow, testVM},
		"ok/hour-long-certificate":     {f.issue(t, func(r *token.SSHCertRequest) { r.ValidFor = time.Hour }), f.caKeys(), testNow, testVM},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := CheckCert(tc.cert, tc.cas, tc.vm, tc.now); err != nil {
				t.Fatal(err)
			}
		})
	}
}
