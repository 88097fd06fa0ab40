package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

// Passwordless sign-in throughput: what the server does for one passkey sign-in — issue a
// challenge (stored), verify the assertion (challenge consumed, credential read, P-256
// signature checked, counter advanced with compare-and-swap) and sign an ID token — beside
// the physical limit of one P-256 verification plus one ES256 signature. The browser's and
// authenticator's work (building and signing the assertion) is done between the two timed
// phases and is not counted. The goal is 1,000 sign-ins per second per core.

const (
	benchRPID   = "login.bench.test"
	benchOrigin = "https://login.bench.test"
)

var b64 = base64.RawURLEncoding

// benchAuthenticator is the least of a synced passkey provider: one P-256 credential, no
// attestation, a sign counter that stays zero (as iCloud Keychain and Google Password Manager
// send), user presence and verification always given.
type benchAuthenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
}

func (a *benchAuthenticator) authData(attested bool) []byte {
	h := sha256.Sum256([]byte(benchRPID))
	flags := byte(0x01 | 0x04) // UP, UV
	if attested {
		flags |= 0x40
	}
	ad := append(h[:], flags)
	ad = binary.BigEndian.AppendUint32(ad, 0)
	if attested {
		raw, _ := a.key.PublicKey.Bytes()
		cose, _ := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:]})
		ad = append(ad, make([]byte, 16)...)
		ad = binary.BigEndian.AppendUint16(ad, uint16(len(a.credID)))
		ad = append(append(ad, a.credID...), cose...)
	}
	return ad
}

func clientData(typ, challenge string) []byte {
	out, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": benchOrigin})
	return out
}

func challengeOf(b *testing.B, options []byte) string {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		b.Fatal(err)
	}
	return o.PublicKey.Challenge
}

func (a *benchAuthenticator) register(b *testing.B, options []byte) []byte {
	cdj := clientData("webauthn.create", challengeOf(b, options))
	att, _ := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(true)})
	out, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID),
		"type": "public-key", "response": map[string]any{"clientDataJSON": b64.EncodeToString(cdj),
			"attestationObject": b64.EncodeToString(att)}})
	return out
}

func (a *benchAuthenticator) assert(b *testing.B, options []byte, userHandle string) []byte {
	cdj := clientData("webauthn.get", challengeOf(b, options))
	ad := a.authData(false)
	cdh := sha256.Sum256(cdj)
	h := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, h[:])
	if err != nil {
		b.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID),
		"type": "public-key", "response": map[string]any{"clientDataJSON": b64.EncodeToString(cdj),
			"authenticatorData": b64.EncodeToString(ad), "signature": b64.EncodeToString(sig),
			"userHandle": b64.EncodeToString([]byte(userHandle))}})
	return out
}

// benchUsers is how many people sign in during the benchmark, each with their own passkey,
// so that concurrent sign-ins do not all queue on one credential's row.
const benchUsers = 256

// signInFixture is a tenant on SQLite whose users each have a passkey, and the token service.
type signInFixture struct {
	st     store.Store
	pk     *authn.Passkeys
	tokens *token.Service
	users  []directory.User
	auths  []*benchAuthenticator
}

func newSignInFixture(b *testing.B) *signInFixture {
	ctx := context.Background()
	st := openSQLite(b)
	pk, err := authn.NewPasskeys(authn.PasskeyConfig{RPID: benchRPID, RPDisplayName: "Latch", Origins: []string{benchOrigin}}, st, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	f := &signInFixture{st: st, pk: pk, tokens: token.NewService(st, token.Config{})}
	for i := range benchUsers {
		f.addUser(b, ctx, i)
	}
	if _, err := f.issue(ctx, f.users[0]); err != nil { // creates the tenant's signing key
		b.Fatal(err)
	}
	return f
}

// addUser creates user i and registers a passkey for them through the real ceremony.
func (f *signInFixture) addUser(b *testing.B, ctx context.Context, i int) {
	user := directory.User{ID: fmt.Sprintf("0a1b2c3d-4e5f-4a6b-8c7d-%012d", i), TenantID: benchTenant,
		UserPrincipalName: fmt.Sprintf("user%d@bench.test", i), DisplayName: "Bench user", AccountEnabled: true}
	if err := f.st.CreateUser(ctx, user); err != nil {
		b.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a := &benchAuthenticator{key: key, credID: []byte(fmt.Sprintf("bench-credential-%08d", i))}
	opts, id, err := f.pk.BeginRegistration(ctx, user)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.pk.FinishRegistration(ctx, user, id, a.register(b, opts), "bench"); err != nil {
		b.Fatal(err)
	}
	f.users, f.auths = append(f.users, user), append(f.auths, a)
}

func (f *signInFixture) lookup(ctx context.Context, handle []byte) (directory.User, error) {
	return f.st.GetUser(ctx, benchTenant, string(handle))
}

// issue signs the ID token a passkey sign-in ends with.
func (f *signInFixture) issue(ctx context.Context, u directory.User) (string, error) {
	raw, _, err := f.tokens.Sign(ctx, token.Claims{Kind: token.KindID, Issuer: "https://login.bench.test/" + benchTenant + "/v2.0",
		TenantID: benchTenant, Subject: u.ID, ObjectID: u.ID, PrincipalType: token.PrincipalUser,
		AppID: benchApp, Audience: benchApp, UPN: u.UserPrincipalName, Name: u.DisplayName,
		AMR: authn.PasskeyAMR(), AuthTime: time.Now(), Nonce: "n-0S6_WzA2Mj"})
	return raw, err
}

// inParallel runs fn(i) for i in [0, n) on workers goroutines and returns the first error.
func inParallel(n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	wg.Wait()
	return first
}

// BenchmarkPasswordlessSignIn reports sign-ins/s (wall time of the server's two phases, all
// cores) and signins/cpu-s (per core, from the CPU the process spent in them).
func BenchmarkPasswordlessSignIn(b *testing.B) {
	ctx := context.Background()
	f := newSignInFixture(b)
	workers := 4 * runtime.GOMAXPROCS(0) // some wait on SQLite's single writer while others verify
	opts, ids, resps := make([][]byte, b.N), make([]string, b.N), make([][]byte, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), sampleCPU()
	err := inParallel(b.N, workers, func(i int) (err error) {
		opts[i], ids[i], err = f.pk.BeginLogin(ctx, benchTenant, nil)
		return err
	})
	begin, cpu1 := time.Since(start), sampleCPU()
	b.StopTimer()
	for i := range b.N { // the browsers and authenticators
		resps[i] = f.auths[i%benchUsers].assert(b, opts[i], f.users[i%benchUsers].ID)
	}
	b.StartTimer()
	start, cpu2 := time.Now(), sampleCPU()
	err2 := inParallel(b.N, workers, func(i int) error {
		u, _, err := f.pk.FinishLogin(ctx, benchTenant, ids[i], resps[i], f.lookup)
		if err != nil {
			return err
		}
		_, err = f.issue(ctx, u)
		return err
	})
	finish, cpu3 := time.Since(start), sampleCPU()
	b.StopTimer()
	if err != nil || err2 != nil {
		b.Fatal(err, err2)
	}
	reportRate(b, "signins/s", begin+finish)
	if used := (cpu1.self - cpu0.self) + (cpu3.self - cpu2.self); used > 0 {
		b.ReportMetric(float64(b.N)/used.Seconds(), "signins/cpu-s")
	}
}

// BenchmarkP256VerifyES256Sign is the physical limit of a passwordless sign-in: one P-256
// ECDSA verification (the assertion) and one ES256 signature (the ID token), on every core.
func BenchmarkP256VerifyES256Sign(b *testing.B) {
	authKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tokenKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h := sha256.Sum256(tokenSizedInput)
	sig, _ := ecdsa.SignASN1(rand.Reader, authKey, h[:])
	b.ReportAllocs()
	start, cpu := time.Now(), sampleCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !ecdsa.VerifyASN1(&authKey.PublicKey, h[:], sig) {
				b.Error("verification failed")
				return
			}
			if _, _, err := ecdsa.Sign(rand.Reader, tokenKey, h[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, "signins/s", time.Since(start))
	reportCPU(b, cpu, "signins")
}
