package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func newHostKeyLine(t *testing.T) (string, ssh.Signer) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), signer
}

func TestHostFromToken(t *testing.T) {
	line, signer := newHostKeyLine(t)
	cert := &ssh.Certificate{Key: signer.PublicKey(), CertType: ssh.HostCert, ValidPrincipals: []string{"vm1"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		t.Fatal(err)
	}
	certLine := string(ssh.MarshalAuthorizedKey(cert))
	tests := []struct {
		name      string
		tr        tokenResponse
		keys      int
		addresses []string
	}{
		{name: "fail/garbage", tr: tokenResponse{HostKeys: []string{"not a key"}, HostAddresses: []string{"vm1.example"}}},
		{name: "fail/certificate-is-no-pin", tr: tokenResponse{HostKeys: []string{certLine}}},
		{name: "ok/keys-and-addresses", tr: tokenResponse{HostKeys: []string{line, line + " comment"}, HostAddresses: []string{"10.0.0.4", "fd00::4"}},
			keys: 2, addresses: []string{"10.0.0.4", "fd00::4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := hostFromToken(&tc.tr)
			if len(h.keys) != tc.keys || !slices.Equal(h.addresses, tc.addresses) {
				t.Fatalf("got %d keys, addresses %q", len(h.keys), h.addresses)
			}
		})
	}
}

func TestPinHost(t *testing.T) {
	line, _ := newHostKeyLine(t)
	dir := t.TempDir()
	t.Run("fail/nothing-reported-pins-nothing", func(t *testing.T) {
		c := &sshCredential{PrivateKeyFile: filepath.Join(dir, "id_ed25519")}
		if err := c.pinHost("vm1", sshHost{}); err != nil || c.KnownHostsFile != "" || c.hostOptions("vm1") != nil || c.hostConfigLines("vm1") != "" {
			t.Fatalf("pinned %q: %v", c.KnownHostsFile, err)
		}
	})
	t.Run("ok/pinned-under-the-name", func(t *testing.T) {
		c := &sshCredential{PrivateKeyFile: filepath.Join(dir, "id_ed25519")}
		if err := c.pinHost("vm1", hostFromToken(&tokenResponse{HostKeys: []string{line}, HostAddresses: []string{"10.0.0.4"}})); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(c.KnownHostsFile)
		if err != nil || string(b) != "vm1 "+line+"\n" {
			t.Fatalf("known_hosts %q: %v", b, err)
		}
		c.HostName = "10.0.0.4"
		opts := strings.Join(c.hostOptions("vm1"), " ")
		for _, want := range []string{"StrictHostKeyChecking=yes", "HostKeyAlias=vm1", "HostName=10.0.0.4", "GlobalKnownHostsFile=/dev/null",
			`UserKnownHostsFile="` + c.KnownHostsFile + `"`} {
			if !strings.Contains(opts, want) {
				t.Errorf("options %q lack %q", opts, want)
			}
		}
		if lines := c.hostConfigLines("vm1"); !strings.Contains(lines, "\tHostKeyAlias vm1\n") || !strings.Contains(lines, "\tStrictHostKeyChecking yes\n") {
			t.Errorf("config lines %q", lines)
		}
	})
}

func FuzzHostFromToken(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHy8 user@host", "10.0.0.4")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, key, addr string) {
		h := hostFromToken(&tokenResponse{HostKeys: []string{key}, HostAddresses: []string{addr}})
		for _, a := range h.addresses {
			// An address lands in an ssh option: it must be nothing but an address.
			if strings.ContainsAny(a, " \t\n\"'=") || strings.HasPrefix(a, "-") {
				t.Fatalf("address %q", a)
			}
		}
	})
}

func TestChooseHostName(t *testing.T) {
	pinned := func() *sshCredential {
		return &sshCredential{KnownHostsFile: "/k", addresses: []string{"10.0.0.4"}}
	}
	tests := []struct {
		name, host, env, wantHost, wantWarning string
		cred                                   *sshCredential
	}{
		{name: "fail/nothing-pinned-warns", host: "vm1", cred: &sshCredential{addresses: []string{"10.0.0.4"}}, wantWarning: "has not reported its SSH host keys"},
		{name: "ok/name-resolves", host: "localhost", cred: pinned()}, // from /etc/hosts: no query leaves the computer
		{name: "ok/reported-address", host: "localhost", env: "reported", cred: pinned(), wantHost: "10.0.0.4"},
		{name: "ok/no-address-reported", host: "vm1", env: "reported", cred: &sshCredential{KnownHostsFile: "/k"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			a := newApp(nil, io.Discard, &stderr, func(k string) string {
				if k == "LATCH_SSH_ADDRESS" {
					return tc.env
				}
				return ""
			})
			a.chooseHostName(context.Background(), tc.host, tc.cred)
			if tc.cred.HostName != tc.wantHost || !strings.Contains(stderr.String(), tc.wantWarning) {
				t.Fatalf("host name %q, stderr %q", tc.cred.HostName, stderr.String())
			}
		})
	}
}
