package httpapi

import (
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestMachineHostKeys(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := ssh.NewPublicKey(pub)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	signer, _ := ssh.NewSignerFromKey(priv)
	cert := &ssh.Certificate{Key: key, CertType: ssh.HostCert, ValidPrincipals: []string{"vm1"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		t.Fatal(err)
	}
	certLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert)))
	many := make([]string, 0, 40)
	for range 40 {
		p, _, _ := ed25519.GenerateKey(rand.Reader)
		k, _ := ssh.NewPublicKey(p)
		many = append(many, string(ssh.MarshalAuthorizedKey(k)))
	}
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{name: "fail/garbage", in: []string{"not a key", ""}, want: nil},
		{name: "fail/certificate", in: []string{certLine}, want: nil},
		{name: "fail/too-long", in: []string{line + " " + strings.Repeat("x", maxHostKeyLine)}, want: nil},
		{name: "ok/comment-dropped", in: []string{line + " root@machine\n"}, want: []string{line}},
		{name: "ok/deduplicated", in: []string{line, line + " again"}, want: []string{line}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := machineHostKeys(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("ok/capped", func(t *testing.T) {
		if got := machineHostKeys(many); len(got) != maxHostKeys {
			t.Fatalf("kept %d keys, want %d", len(got), maxHostKeys)
		}
	})
}

func FuzzMachineHostKeys(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHy8 user@host")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		for _, k := range machineHostKeys([]string{line}) {
			// What is kept reads back as itself: a client pins exactly this line.
			if again := machineHostKeys([]string{k}); len(again) != 1 || again[0] != k {
				t.Fatalf("%q is not canonical", k)
			}
		}
	})
}
