package tlsca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ensure(t *testing.T, dir, host string, now time.Time) Result {
	t.Helper()
	r, err := Ensure(dir, host, now)
	if err != nil {
		t.Fatalf("Ensure(%q) = %v", host, err)
	}
	return r
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verify checks that the server certificate chains to the CA for name at time now.
func verify(t *testing.T, f Files, name string, now time.Time) error {
	t.Helper()
	ca, err := readCert(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := readCert(f.Cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err = cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now})
	return err
}

func TestFirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	r := ensure(t, dir, "latch.example", t0)
	if !r.CreatedCA || !r.IssuedServer {
		t.Fatalf("first Ensure: %+v, want a new CA and server certificate", r)
	}
	for path, want := range map[string]os.FileMode{r.CA: 0o644, r.CAKey: 0o600, r.Cert: 0o644, r.Key: 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, err %v; want %v", filepath.Base(path), fi.Mode().Perm(), err, want)
		}
	}
	ca, _ := readCert(r.CA)
	pub, ok := ca.PublicKey.(*ecdsa.PublicKey)
	if ca.Subject.CommonName != CAName || !ca.IsCA || !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA: CN %q IsCA %v key %T", ca.Subject.CommonName, ca.IsCA, ca.PublicKey)
	}
	if life := ca.NotAfter.Sub(t0); life < 3649*24*time.Hour {
		t.Errorf("CA lifetime %v, want ten years", life)
	}
	for _, name := range []string{"latch.example", "localhost", "127.0.0.1", "::1"} {
		if err := verify(t, r.Files, name, t0); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if err := verify(t, r.Files, "other.example", t0); err == nil {
		t.Error("server certificate verified for a host it should not cover")
	}
}

func TestRenewal(t *testing.T) {
	tests := []struct {
		name      string
		host      string
		now       time.Time
		wantIssue bool
	}{
		{"ok/reuse-same-host", "latch.example", t0.Add(24 * time.Hour), false},
		{"ok/reuse-day-before-window", "latch.example", t0.Add(ServerLifetime - RenewBefore - 24*time.Hour), false},
		{"ok/renew-within-30-days", "latch.example", t0.Add(ServerLifetime - RenewBefore + time.Hour), true},
		{"ok/renew-after-expiry", "latch.example", t0.Add(ServerLifetime + time.Hour), true},
		{"ok/renew-new-host", "id.fabrikam.test", t0.Add(time.Hour), true},
		{"ok/renew-new-ip", "192.0.2.10", t0.Add(time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first := ensure(t, dir, "latch.example", t0)
			caBefore := mustRead(t, first.CA)
			r := ensure(t, dir, tt.host, tt.now)
			if r.CreatedCA || !bytes.Equal(caBefore, mustRead(t, r.CA)) {
				t.Fatal("the CA changed; it must be reused")
			}
			if r.IssuedServer != tt.wantIssue {
				t.Fatalf("IssuedServer = %v, want %v", r.IssuedServer, tt.wantIssue)
			}
			if err := verify(t, r.Files, tt.host, tt.now); err != nil {
				t.Fatalf("certificate after Ensure does not serve %s: %v", tt.host, err)
			}
		})
	}
}

func TestServerCertificateRepaired(t *testing.T) {
	tests := []struct {
		name   string
		damage func(f Files)
	}{
		{"ok/server-key-deleted", func(f Files) { os.Remove(f.Key) }},
		{"ok/server-cert-garbage", func(f Files) { os.WriteFile(f.Cert, []byte("garbage"), 0o644) }},
		{"ok/server-key-from-elsewhere", func(f Files) {
			other := t.TempDir()
			ensure(t, other, "latch.example", t0)
			b, _ := os.ReadFile(Paths(other).Key)
			os.WriteFile(f.Key, b, 0o600)
		}},
		{"ok/server-cert-from-other-ca", func(f Files) {
			other := t.TempDir()
			ensure(t, other, "latch.example", t0)
			for _, n := range []string{ServerFile, ServerKeyFile} {
				b, _ := os.ReadFile(filepath.Join(other, n))
				os.WriteFile(filepath.Join(f.Dir, n), b, 0o600)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.damage(ensure(t, dir, "latch.example", t0).Files)
			r := ensure(t, dir, "latch.example", t0.Add(time.Hour))
			if !r.IssuedServer {
				t.Fatal("a broken server certificate was kept")
			}
			if err := verify(t, r.Files, "latch.example", t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCARefusals(t *testing.T) {
	tests := []struct {
		name   string
		damage func(f Files)
		now    time.Time
		want   string
	}{
		{"fail/ca-key-missing", func(f Files) { os.Remove(f.CAKey) }, t0, "incomplete"},
		{"fail/ca-cert-missing", func(f Files) { os.Remove(f.CA) }, t0, "incomplete"},
		{"fail/ca-key-garbage", func(f Files) { os.WriteFile(f.CAKey, []byte("-"), 0o600) }, t0, "incomplete"},
		{"fail/ca-key-mismatch", func(f Files) {
			b, _ := os.ReadFile(f.Key) // the server's key is a valid key, just not the CA's
			os.WriteFile(f.CAKey, b, 0o600)
		}, t0, "do not belong together"},
		{"fail/ca-is-not-ca", func(f Files) {
			for _, p := range [][2]string{{f.Cert, f.CA}, {f.Key, f.CAKey}} {
				b, _ := os.ReadFile(p[0])
				os.WriteFile(p[1], b, 0o600)
			}
		}, t0, "do not belong together"},
		{"fail/ca-expired", func(Files) {}, t0.Add(CALifetime + time.Hour), "expired"},
		{"fail/ca-expiring", func(Files) {}, t0.Add(CALifetime - 10*24*time.Hour), "expires within 30 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := ensure(t, dir, "latch.example", t0).Files
			tt.damage(f)
			caBefore, _ := os.ReadFile(f.CA)
			_, err := Ensure(dir, "latch.example", tt.now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Ensure() = %v, want an error containing %q", err, tt.want)
			}
			if caAfter, _ := os.ReadFile(f.CA); !bytes.Equal(caBefore, caAfter) {
				t.Fatal("a refused CA was replaced")
			}
		})
	}
}

func TestEnsureRefusesBadHost(t *testing.T) {
	for _, host := range []string{"", "*.example", "a/b"} {
		if _, err := Ensure(t.TempDir(), host, t0); err == nil {
			t.Errorf("Ensure(%q) succeeded", host)
		}
	}
}

// handshake connects to a TLS server using k with the client settings in cfg.
func handshake(t *testing.T, k *Keypair, cfg *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", k.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cfg)
	if err == nil {
		conn.Close()
	}
	return err
}

func TestServerConfig(t *testing.T) {
	r := ensure(t, t.TempDir(), "localhost", time.Now())
	k, err := LoadKeypair(r.Cert, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(mustRead(t, r.CA))
	base := tls.Config{RootCAs: roots, ServerName: "localhost"}
	tests := []struct {
		name   string
		change func(*tls.Config)
		ok     bool
	}{
		{"fail/tls1.1", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS11 }, false},
		{"fail/cbc-suite", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		}, false},
		{"fail/untrusted", func(c *tls.Config) { c.RootCAs = x509.NewCertPool() }, false},
		{"ok/tls1.2-gcm", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, true},
		{"ok/tls1.3", func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base.Clone()
			tt.change(cfg)
			if err := handshake(t, k, cfg); (err == nil) != tt.ok {
				t.Fatalf("handshake error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestReloadKeepsCertificateOnFailure(t *testing.T) {
	r := ensure(t, t.TempDir(), "localhost", time.Now())
	k, err := LoadKeypair(r.Cert, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	before := k.cur.Load()
	os.WriteFile(r.Cert, []byte("garbage"), 0o644)
	if err := k.Reload(); err == nil {
		t.Fatal("Reload accepted a broken certificate")
	}
	if k.cur.Load() != before {
		t.Fatal("a failed Reload replaced the certificate in use")
	}
	if _, err := LoadKeypair(r.Cert, r.Key); err == nil {
		t.Fatal("LoadKeypair accepted a broken certificate")
	}
}
