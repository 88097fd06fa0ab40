package openssh

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// sshdFixture is a directory with an sshd main configuration that sshd -t accepts.
type sshdFixture struct {
	dir, main string
	stateDir  string // apart from dir: the record lives with the agent's state, not sshd's files
	reloads   int
}

// needSSHD skips unless the real sshd can check a configuration here.
func needSSHD(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultSSHD); err != nil {
		t.Skip("sshd is not installed (scripts/install.sh installs openssh-server)")
	}
	if os.Geteuid() != 0 {
		t.Skip("sshd -t needs root here (privilege separation directory, host key)")
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Skip(err)
	}
}

func newSSHDFixture(t *testing.T, mainBody string) *sshdFixture {
	t.Helper()
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	hk := filepath.Join(dir, "host_key")
	if err := os.WriteFile(hk, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "sshd_config")
	body := strings.ReplaceAll(mainBody, "HOSTKEY", hk)
	body = strings.ReplaceAll(body, "DIR", dir)
	if err := os.WriteFile(main, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return &sshdFixture{dir: dir, main: main, stateDir: t.TempDir()}
}

func (s *sshdFixture) dropIn(f *certFixture) DropIn {
	return DropIn{
		Path:       filepath.Join(s.dir, "sshd_config.d", "50-latch.conf"),
		MainConfig: s.main,
		CAKeysPath: filepath.Join(s.dir, "latch_user_ca.pub"),
		CAKeys:     f.caKeys(),
		Command:    []string{"/usr/bin/true", "agent", "principals"},
		StatePath:  filepath.Join(s.stateDir, "state", "originals.json"),
		Reload:     func(context.Context) error { s.reloads++; return nil },
	}
}

// snapshot is every file under dir: its bytes and mode, or nothing for a directory.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if e.IsDir() {
			out[p] = "dir " + fi.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		out[p] = fi.Mode().String() + " " + string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %s is %q, was %q", what, p, got[p], w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: %s was left behind", what, p)
		}
	}
}

const mainWithInclude = "# sshd for a test\r\nInclude DIR/sshd_config.d/*.conf\nHostKey HOSTKEY\nPidFile none\n" +
	"AuthorizedKeysCommand /usr/bin/false\nAuthorizedKeysCommandUser nobody\nMatch User nobody\n\tX11Forwarding no"

const mainWithoutInclude = "HostKey HOSTKEY\nPidFile none\n# no include, no final newline"

func TestDropInRemoveRestoresBytes(t *testing.T) {
	needSSHD(t)
	f := newCertFixture(t)
	cases := map[string]struct {
		main     string
		existing string // bytes already at the drop-in path; "" for none
	}{
		"ok/main-without-include-no-drop-in-dir": {mainWithoutInclude, ""},
		"ok/replaces-an-existing-drop-in":        {mainWithInclude, "# someone else's\nPermitRootLogin no"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSSHDFixture(t, tc.main)
			d := s.dropIn(f)
			if tc.existing != "" {
				os.MkdirAll(filepath.Dir(d.Path), 0o750)
				os.WriteFile(d.Path, []byte(tc.existing), 0o640)
			}
			before := snapshot(t, s.dir)
			if err := d.Install(context.Background()); err != nil {
				t.Fatal(err)
			}
			if s.reloads != 1 {
				t.Errorf("%d reloads after Install", s.reloads)
			}
			installed, _ := os.ReadFile(d.Path)
			if !bytes.Contains(installed, []byte("AuthorizedPrincipalsCommand /usr/bin/true agent principals %u %t %k")) {
				t.Fatalf("drop-in:\n%s", installed)
			}
			// A second Install (a CA rotation) must not overwrite the record of the originals.
			d.CAKeys = append(d.CAKeys, f.otherCA.PublicKey())
			if err := d.Install(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := d.Remove(context.Background()); err != nil {
				t.Fatal(err)
			}
			sameSnapshot(t, "after Remove", snapshot(t, s.dir), before)
			if err := d.Remove(context.Background()); err != nil {
				t.Fatalf("a second Remove: %v", err)
			}
		})
	}
}

func TestDropInRollsBackWhenSSHDRefuses(t *testing.T) {
	f := newCertFixture(t)
	s := newSSHDFixture(t, mainWithoutInclude)
	d := s.dropIn(f)
	d.SSHD = "/bin/false" // sshd -t refusing the result
	before := snapshot(t, s.dir)
	err := d.Install(context.Background())
	if err == nil || !strings.Contains(err.Error(), "sshd -t refuses") {
		t.Fatalf("Install: %v", err)
	}
	sameSnapshot(t, "after a refused Install", snapshot(t, s.dir), before)
	if s.reloads != 0 {
		t.Fatal("reloaded a configuration sshd refused")
	}
}

func TestDropInRefusesBadSettings(t *testing.T) {
	f := newCertFixture(t)
	s := newSSHDFixture(t, mainWithoutInclude)
	cases := map[string]func(*DropIn){
		"fail/no-ca-keys":             func(d *DropIn) { d.CAKeys = nil },
		"fail/nil-ca-key":             func(d *DropIn) { d.CAKeys = []ssh.PublicKey{nil} },
		"fail/no-command":             func(d *DropIn) { d.Command = nil },
		"fail/relative-command":       func(d *DropIn) { d.Command = []string{"latch", "agent"} },
		"fail/newline-in-command":     func(d *DropIn) { d.Command = []string{"/bin/latch\nPermitRootLogin yes"} },
		"fail/percent-in-command":     func(d *DropIn) { d.Command = []string{"/bin/latch", "%C"} },
		"fail/blank-in-match":         func(d *DropIn) { d.MatchUsers = "*@* root" },
		"fail/list-in-match":          func(d *DropIn) { d.MatchUsers = "*@*,root" },
		"fail/relative-path":          func(d *DropIn) { d.Path = "50-latch.conf" },
		"fail/quote-in-ca-path":       func(d *DropIn) { d.CAKeysPath = `/etc/ssh/"x` },
		"fail/comment-in-commanduser": func(d *DropIn) { d.CommandUser = "root#" },
		"fail/command-missing":        func(d *DropIn) { d.Command = []string{"/nonexistent/latch"} },
		"fail/command-not-executable": func(d *DropIn) { d.Command = []string{"/etc/passwd"} },
		"fail/command-in-temp-dir":    func(d *DropIn) { d.Command = []string{writeExecutable(t, s.dir)} },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			d := s.dropIn(f)
			change(&d)
			before := snapshot(t, s.dir)
			if err := d.Install(context.Background()); err == nil {
				t.Fatal("installed")
			}
			sameSnapshot(t, "after a refused Install", snapshot(t, s.dir), before)
		})
	}
}

// writeExecutable puts a program in dir, which like every temporary directory hangs below the
// world-writable /tmp: sshd would refuse to run it.
func writeExecutable(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "latch")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDropInScope asks the real sshd what it would apply to a directory user and to a local
// account: only the first takes the certificate path, even with global settings that differ.
func TestDropInScope(t *testing.T) {
	needSSHD(t)
	f := newCertFixture(t)
	s := newSSHDFixture(t, mainWithInclude)
	d := s.dropIn(f)
	if err := d.Install(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := effective(t, s.main, testUser)
	for _, want := range []string{"authorizedprincipalscommand /usr/bin/true agent principals %u %t %k",
		"authorizedprincipalscommanduser nobody", "trustedusercakeys " + d.CAKeysPath, "authorizedkeysfile none",
		"authorizedkeyscommand none", "authenticationmethods publickey",
		// Not "none": inside Match, sshd would read ~/none, a file the user controls.
		"authorizedprincipalsfile " + filepath.Join(s.dir, "latch_no_principals")} {
		if !strings.Contains(dir, "\n"+strings.ToLower(want)+"\n") {
			t.Errorf("directory user: no %q in\n%s", want, dir)
		}
	}
	local := effective(t, s.main, "admin")
	for _, want := range []string{"authorizedprincipalscommand none", "trustedusercakeys none",
		"authorizedkeyscommand /usr/bin/false", "authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2"} {
		if !strings.Contains(local, "\n"+want+"\n") {
			t.Errorf("local account: no %q", want)
		}
	}
}

func effective(t *testing.T, main, user string) string {
	t.Helper()
	out, err := exec.Command(DefaultSSHD, "-T", "-f", main, "-C", "user="+user+",host=h,addr=10.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("sshd -T: %v\n%s", err, out)
	}
	return "\n" + strings.ToLower(string(out))
}

func TestReloadRefusesStrangers(t *testing.T) {
	dir := t.TempDir()
	if err := hangUp(filepath.Join(dir, "none.pid")); !errors.Is(err, ErrSSHDNotRunning) {
		t.Errorf("fail/no-pid-file: %v", err)
	}
	pid := filepath.Join(dir, "sshd.pid")
	os.WriteFile(pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644) // the test binary, not sshd
	if err := hangUp(pid); !errors.Is(err, ErrSSHDNotRunning) {
		t.Errorf("fail/pid-of-another-program: %v", err)
	}
	os.WriteFile(pid, []byte("1"), 0o644)
	if err := hangUp(pid); err == nil {
		t.Error("fail/pid-1: signalled")
	}
}
