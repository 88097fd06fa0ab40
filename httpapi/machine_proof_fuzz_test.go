package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// oneMachine is a store that knows a single machine; the proof checks touch nothing else.
type oneMachine struct {
	store.Store
	m store.Machine
}

func (o oneMachine) GetMachine(_ context.Context, tenantID, id string) (store.Machine, error) {
	if tenantID == o.m.TenantID && id == o.m.ID {
		return o.m, nil
	}
	return store.Machine{}, errs.E("test", errs.NotFound, "no such machine")
}

// FuzzMachineProof throws arbitrary Authorization values at the proof checks: no panic, every
// refusal Unauthenticated, and whatever passes is signed by the machine's own key.
func FuzzMachineProof(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	now := time.Unix(1_900_000_000, 0)
	s := &Server{URL: "https://latch.test", Now: func() time.Time { return now },
		Store: oneMachine{m: store.Machine{TenantID: "t", ID: "m", PublicKey: der}}}
	claims := map[string]any{"iss": "m", "sub": "m", "tid": "t", "aud": "https://latch.test/machines",
		"iat": now.Unix(), "exp": now.Unix() + 60, "jti": "j"}
	good := signProof(f, key, `{"alg":"ES256","typ":"JWT"}`, claims)
	for _, seed := range []string{good, "MachineProof a.b.c", "MachineProof ", "Bearer " + good[len("MachineProof "):],
		signProof(f, key, `{"alg":"none"}`, claims), good + "x", "MachineProof ..", good[:len(good)-3]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, authz string) {
		m, _, err := s.checkProof(context.Background(), authz)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Unauthenticated && k != errs.NotFound {
				t.Fatalf("refused %q with kind %v: %v", authz, k, err)
			}
			return
		}
		if m.ID != "m" {
			t.Fatalf("accepted %q for machine %q", authz, m.ID)
		}
	})
}

// signProof signs claims under header with key, as a machine does.
func signProof(f *testing.F, key *ecdsa.PrivateKey, header string, claims map[string]any) string {
	p, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(in))
	r, sv, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		f.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return "MachineProof " + in + "." + base64.RawURLEncoding.EncodeToString(sig)
}
