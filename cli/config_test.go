package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestStateFileModes(t *testing.T) {
	h := newHarness(t)
	h.login()
	mode := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m := mode(h.dir); m != 0o700 {
		t.Errorf("config dir mode %o, want 700", m)
	}
	for _, name := range []string{profileFile, tokensFile} {
		if m := mode(filepath.Join(h.dir, name)); m != 0o600 {
			t.Errorf("%s mode %o, want 600", name, m)
		}
	}
	prof, _ := os.ReadFile(filepath.Join(h.dir, profileFile))
	if strings.Contains(string(prof), "rt-") || strings.Contains(string(prof), "accessToken") {
		t.Errorf("profile.json holds tokens:\n%s", prof)
	}
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestServicePrincipalSecretStaysInTokens(t *testing.T) {
	h := newHarness(t)
	res := h.run("login", "--server", h.idp.url(), "--ca-file", h.idp.caFile, "--service-principal",
		"-u", "99999999-0000-0000-0000-000000000009", "-p", "s3cret", "--tenant", homeDomain)
	if res.code != 0 {
		t.Fatalf("%+v", res)
	}
	prof, _ := os.ReadFile(filepath.Join(h.dir, profileFile))
	if strings.Contains(string(prof), "s3cret") {
		t.Error("profile.json holds the client secret")
	}
	h.run("logout")
	if _, err := os.Stat(filepath.Join(h.dir, tokensFile)); !os.IsNotExist(err) {
		t.Errorf("tokens.json survives logout: %v", err)
	}
}

// TestAtomicWritesUnderConcurrency has writers replace a file while readers read it: every
// read must see one whole version, never a mix or a truncated file.
func TestAtomicWritesUnderConcurrency(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				v := map[string]string{"writer": fmt.Sprint(w), "pad": strings.Repeat(fmt.Sprint(i%10), 4096)}
				if err := writeJSONFile(dir, "x.json", v); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for reads := 0; ; reads++ {
		select {
		case <-done:
			return
		default:
		}
		b, err := os.ReadFile(filepath.Join(dir, "x.json"))
		if os.IsNotExist(err) {
			continue
		}
		var v map[string]string
		if err != nil || json.Unmarshal(b, &v) != nil || len(v["pad"]) != 4096 {
			t.Fatalf("read %d saw a partial file (%v): %.80q", reads, err, b)
		}
	}
}

func TestDamagedStateFiles(t *testing.T) {
	cases := []struct{ name, file, content, want string }{
		{"fail/profile-not-json", profileFile, "{", "profile.json is damaged"},
		{"fail/settings-unknown-field", settingsFile, `{"outptu":"table"}`, "config.json is damaged (json: unknown field \"outptu\")"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			os.MkdirAll(h.dir, 0o700)
			os.WriteFile(filepath.Join(h.dir, tc.file), []byte(tc.content), 0o600)
			res := h.run("account", "show")
			if res.code != 1 || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q", res.code, res.stderr)
			}
		})
	}
}
