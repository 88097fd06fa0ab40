package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/latchsh/latch/testenv"
)

// softKey plays a platform authenticator and the browser around it, just enough for the
// pages' two ceremonies: a resident ES256 credential, user presence and verification always.
type softKey struct {
	origin, rpID string
	key          *ecdsa.PrivateKey
	id, userID   []byte
	count        uint32
}

var b64 = base64.RawURLEncoding

func newSoftKey(t *testing.T, srv *testenv.Server) *softKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{origin: srv.URL, rpID: "localhost", key: k, id: id}
}

// ceremony is what the pages' options endpoints answer.
type ceremony struct {
	ChallengeID string `json:"challengeId"`
	Options     struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	} `json:"options"`
}

func (s *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": s.origin, "crossOrigin": false})
	return b
}

// authData is rpIdHash ‖ flags ‖ counter, plus the attested credential when attest is set.
func (s *softKey) authData(attest bool) []byte {
	rp := sha256.Sum256([]byte(s.rpID))
	flags := byte(0x01 | 0x04) // UP, UV
	if attest {
		flags |= 0x40
	}
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, s.count)
	if !attest {
		return out
	}
	raw, _ := s.key.PublicKey.Bytes()
	cose, _ := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: raw[1:33], YCoord: raw[33:]})
	out = append(out, make([]byte, 16)...) // AAGUID: none
	out = binary.BigEndian.AppendUint16(out, uint16(len(s.id)))
	return append(append(out, s.id...), cose...)
}

// create answers navigator.credentials.create with attestation "none".
func (s *softKey) create(c ceremony) string {
	s.userID, _ = b64.DecodeString(c.Options.PublicKey.User.ID)
	att, _ := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": s.authData(true)})
	return s.credentialJSON(map[string]any{"clientDataJSON": b64.EncodeToString(s.clientData("webauthn.create", c.Options.PublicKey.Challenge)),
		"attestationObject": b64.EncodeToString(att)})
}

// get answers navigator.credentials.get for a discoverable sign-in.
func (s *softKey) get(c ceremony) string {
	s.count++
	cd := s.clientData("webauthn.get", c.Options.PublicKey.Challenge)
	ad := s.authData(false)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, _ := ecdsa.SignASN1(rand.Reader, s.key, digest[:])
	return s.credentialJSON(map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
		"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(s.userID)})
}

func (s *softKey) credentialJSON(resp map[string]any) string {
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(s.id), "rawId": b64.EncodeToString(s.id), "type": "public-key",
		"response": resp, "clientExtensionResults": map[string]any{}})
	return string(b)
}

// options calls an options endpoint as the pages' script does.
func options(t *testing.T, c *http.Client, u, csrf string, form url.Values) (ceremony, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var cer ceremony
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &cer); err != nil {
			t.Fatalf("options: %v: %s", err, body)
		}
	}
	return cer, resp.StatusCode
}

func TestPasskeyOverHTTP(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	c, u := signedInBrowser(t, srv, "ned")
	info := page(t, c, http.MethodGet, srv.URL+"/security-info", nil)
	key := newSoftKey(t, srv)
	reg, st := options(t, c, srv.URL+"/security-info/passkeys/options", info.CSRF, url.Values{})
	if st != http.StatusOK {
		t.Fatalf("registration options: %d", st)
	}
	done := page(t, c, http.MethodPost, srv.URL+"/security-info/passkeys", url.Values{"csrf": {info.CSRF},
		"challenge": {reg.ChallengeID}, "credential": {key.create(reg)}, "name": {"Laptop"}})
	if done.Status != http.StatusOK || !strings.Contains(done.Body, "Your passkey was added") {
		t.Fatalf("register: %d %q", done.Status, done.Error())
	}

	signIn := func(b *http.Client, answer func(ceremony) string) testenv.Page {
		first := page(t, b, http.MethodGet, srv.URL+"/login", nil)
		cer, st := options(t, b, srv.URL+"/login/passkey/options", first.CSRF, url.Values{"tenant": {srv.TenantID}})
		if st != http.StatusOK {
			t.Fatalf("sign-in options: %d", st)
		}
		return page(t, b, http.MethodPost, srv.URL+"/login", url.Values{"csrf": {first.CSRF}, "step": {"passkey"},
			"challenge": {cer.ChallengeID}, "assertion": {answer(cer)}, "return": {"/sessions"}})
	}
	b := srv.Browser()
	if p := signIn(b, key.get); p.Status != http.StatusSeeOther || p.Location != "/sessions" {
		t.Fatalf("ok/passkey-sign-in: %d %q", p.Status, p.Error())
	}
	if p := page(t, b, http.MethodGet, srv.URL+"/sessions", nil); !strings.Contains(p.Body, "Signed in with passkey") {
		t.Fatal("the session does not record the passkey")
	}

	t.Run("fail/other-origin", func(t *testing.T) {
		evil := *key
		evil.origin = "https://evil.localhost:1"
		if p := signIn(srv.Browser(), evil.get); p.Status == http.StatusSeeOther {
			t.Fatal("signed in with clientData from another origin")
		}
	})
	t.Run("fail/counter-regression", func(t *testing.T) {
		old := *key
		old.count = 0
		if p := signIn(srv.Browser(), old.get); p.Status == http.StatusSeeOther {
			t.Fatal("signed in with a counter that went backwards")
		}
	})
	t.Run("fail/forged-signature", func(t *testing.T) {
		other := newSoftKey(t, srv)
		other.id, other.userID = key.id, []byte(u.ID)
		if p := signIn(srv.Browser(), other.get); p.Status == http.StatusSeeOther {
			t.Fatal("signed in with another key's signature")
		}
	})
	t.Run("fail/options-without-csrf", func(t *testing.T) {
		if _, st := options(t, srv.Browser(), srv.URL+"/login/passkey/options", "", url.Values{"tenant": {srv.TenantID}}); st != http.StatusForbidden {
			t.Fatalf("got %d", st)
		}
	})
}
