package authn

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/latchsh/latch/errs"
)

// The fuzz targets drive attacker-controlled WebAuthn input through Latch's own entry points
// (FinishLogin, the key check, the device-key verifier) and the library parsers beneath them.
// Properties: no panic; inputs over the cap are skipped as the API refuses them; a refusal is
// never Internal; and what the authenticator-data parser accepts has the layout it reported.

const fuzzCap = 64 << 10

// fuzzLogin is a relying party with alice's passkey registered, to sign in against.
type fuzzLogin struct {
	e *passkeyEnv
}

func newFuzzLogin(t *testing.T) fuzzLogin {
	e := newPasskeyEnv(t)
	e.mustRegister(e.alice, e.aliceKey)
	return fuzzLogin{e: e}
}

// finish signs in with a real assertion in which mut replaced one part, and checks the answer.
func (f fuzzLogin) finish(t *testing.T, mut mutation) {
	e := f.e
	opts, id, err := e.pk.BeginLogin(t.Context(), testTenant, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.aliceKey.login(t, opts, []byte(e.alice.ID), mut)
	_, _, err = e.pk.FinishLogin(t.Context(), testTenant, id, resp, e.lookup)
	if errs.KindOf(err) == errs.Internal && err != nil {
		t.Fatalf("an internal error for client input: %v", err)
	}
}

func FuzzClientData(f *testing.F) {
	f.Add([]byte(`{"type":"webauthn.get","challenge":"AAAA","origin":"https://login.contoso.test"}`))
	f.Add([]byte(`{"type":"webauthn.get","challenge":"AAAA","origin":"https://login.contoso.test","crossOrigin":true,"topOrigin":"https://x"}`))
	f.Add([]byte(`{"type":"webauthn.get","tokenBinding":{"status":"present","id":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, cdj []byte) {
		if len(cdj) > fuzzCap {
			return
		}
		var cd protocol.CollectedClientData
		if json.Unmarshal(cdj, &cd) == nil {
			cd.Verify("AAAA", protocol.AssertCeremony, []string{testOrigin}, nil, nil, protocol.TopOriginExplicitVerificationMode, false)
		}
		newFuzzLogin(t).finish(t, withResponse(func(r map[string]any) {
			r["response"].(map[string]any)["clientDataJSON"] = b64.EncodeToString(cdj)
		}))
	})
}

func FuzzAuthenticatorData(f *testing.F) {
	h := sha256.Sum256([]byte(testRPID))
	f.Add(append(h[:], flagUP|flagUV, 0, 0, 0, 1))
	f.Add(append(h[:], flagUP|flagUV|flagED, 0, 0, 0, 1, 0xa1, 0x63, 'f', 'o', 'o', 0xf5))
	f.Add(append(h[:], flagUP|flagUV|flagAT, 0, 0, 0, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ad []byte) {
		if len(ad) > fuzzCap {
			return
		}
		var a protocol.AuthenticatorData
		if err := a.Unmarshal(ad); err == nil {
			if len(ad) < 37 || !bytes.Equal(a.RPIDHash, ad[:32]) || byte(a.Flags) != ad[32] ||
				a.Counter != binary.BigEndian.Uint32(ad[33:37]) {
				t.Fatalf("parsed %d bytes into %+v", len(ad), a)
			}
			if a.Flags.HasAttestedCredentialData() && len(a.AttData.CredentialPublicKey) == 0 {
				t.Fatal("attested credential data without a key")
			}
		}
		newFuzzLogin(t).finish(t, withAuthData(func([]byte) []byte { return ad }))
	})
}

func FuzzCOSEKey(f *testing.F) {
	a := newAuthenticator(f)
	f.Add(ctap2(f, coseKey(&a.key.PublicKey)))
	f.Add(ctap2(f, map[int]any{1: 1, 3: -8, -1: 6, -2: make([]byte, 32)}))
	f.Add(ctap2(f, map[int]any{1: 3, 3: -257, -1: []byte{0xc1, 0x01}, -2: []byte{1, 0, 1}}))
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, key []byte) {
		if len(key) > fuzzCap {
			return
		}
		parsed, perr := webauthncose.ParsePublicKey(key)
		if checkCredentialKey(key) == nil && perr != nil {
			t.Fatalf("a key the check accepted does not parse: %v", perr)
		}
		if perr == nil {
			webauthncose.VerifySignature(parsed, []byte("data"), []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
		}
		if verifyDeviceSignature(key, []byte("data"), []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}) {
			t.Fatal("a made-up signature verified")
		}
	})
}
