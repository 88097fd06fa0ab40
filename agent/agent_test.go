package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/imds"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLoadRefusals(t *testing.T) {
	t.Run("fail/never-connected", func(t *testing.T) {
		if _, _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "latch agent connect") {
			t.Fatalf("Load of an empty directory: %v", err)
		}
	})
	t.Run("fail/key-readable-by-others", func(t *testing.T) {
		dir := t.TempDir()
		if err := save(dir, State{MachineID: "m"}, newKey(t)); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, keyFile), 0o644)
		if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "0600") {
			t.Fatalf("Load with a 0644 key: %v", err)
		}
	})
	t.Run("ok/round-trip", func(t *testing.T) {
		dir := t.TempDir()
		k := newKey(t)
		if err := save(dir, State{MachineID: "m", TenantID: "t"}, k); err != nil {
			t.Fatal(err)
		}
		st, got, err := Load(dir)
		if err != nil || st.MachineID != "m" || !got.Equal(k) {
			t.Fatalf("Load = %+v, %v", st, err)
		}
		if fi, _ := os.Stat(filepath.Join(dir, keyFile)); fi.Mode().Perm() != 0o600 {
			t.Fatalf("key mode %v", fi.Mode().Perm())
		}
	})
}

func TestConnectRefusesPlainHTTP(t *testing.T) {
	for _, s := range []string{"http://latch.example", "latch.example", "ftp://latch.example"} {
		if _, err := Connect(context.Background(), ConnectOptions{Server: s, Token: "x", StateDir: t.TempDir()}); err == nil {
			t.Fatalf("fail/insecure-server %q was accepted", s)
		}
	}
}

// TestTokenErrors: the control plane's refusals become the metadata service's errors.
func TestTokenErrors(t *testing.T) {
	cases := []struct {
		name, code string
		want       error
	}{
		{"fail/identity-not-found", "identity_not_found", imds.ErrIdentityNotFound},
		{"fail/invalid-resource", "invalid_resource", imds.ErrInvalidResource},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.Header.Get("Authorization"), "MachineProof ") {
					t.Errorf("request without a machine proof")
				}
				w.WriteHeader(400)
				w.Write([]byte(`{"error":{"code":"` + c.code + `","message":"no"}}`))
			}))
			defer srv.Close()
			cl, _ := NewClient(State{Server: srv.URL, MachineID: "m", TenantID: "t", Audience: "a"}, newKey(t), srv.Client())
			_, err := NewSource(cl).Token(context.Background(), imds.Identity{ObjectID: "o"}, "https://r", false)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestProofsDiffer: every request carries a fresh proof with a new jti and a short life.
func TestProofsDiffer(t *testing.T) {
	cl, _ := NewClient(State{MachineID: "m", TenantID: "t", Audience: "a"}, newKey(t), http.DefaultClient)
	a, _ := cl.proof()
	b, _ := cl.proof()
	if a == b || proofLifetime > 5*time.Minute {
		t.Fatal("two proofs were equal, or live longer than the server accepts")
	}
}
