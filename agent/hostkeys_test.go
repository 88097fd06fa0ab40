package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// writeHostKeyPub writes a fresh key's public half as path.pub and returns its line.
func writeHostKeyPub(t *testing.T, path string) string {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := ssh.NewPublicKey(pub)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	if err := os.WriteFile(path+".pub", []byte(line+" root@machine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return line
}

func TestHostKeys(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "key_a"), filepath.Join(dir, "key_b")
	lineA, lineB := writeHostKeyPub(t, a), writeHostKeyPub(t, b)
	os.WriteFile(filepath.Join(dir, "garbage.pub"), []byte("not a key\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "conf.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "conf.d", "10-b.conf"), []byte("HostKey "+b+"\n"), 0o644)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	tests := []struct {
		name, config string
		want         []string
	}{
		{name: "fail/missing-public-half", config: write("c1", "HostKey "+filepath.Join(dir, "nothing")+"\n"), want: nil},
		{name: "fail/unreadable-public-half", config: write("c2", "HostKey "+filepath.Join(dir, "garbage")+"\n"), want: nil},
		{name: "ok/hostkey-lines", config: write("c3", "# sshd\nPort 22\nhostkey \""+a+"\"\n"), want: []string{lineA}},
		{name: "ok/include", config: write("c4", "Include "+filepath.Join(dir, "conf.d", "*.conf")+"\nHostKey="+a+"\n"), want: []string{lineB, lineA}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := HostKeys(tc.config); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzConfigLine(f *testing.F) {
	f.Add("HostKey /etc/ssh/ssh_host_ed25519_key")
	f.Add(`Include "/etc/ssh/sshd_config.d/*.conf"`)
	f.Add("# comment")
	f.Fuzz(func(t *testing.T, line string) {
		key, args := configLine(line)
		if key == "" && len(args) > 0 {
			t.Fatalf("arguments without a keyword: %q", args)
		}
		if key != strings.ToLower(key) {
			t.Fatalf("keyword %q not lower-cased", key)
		}
	})
}
