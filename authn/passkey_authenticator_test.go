package authn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// A software authenticator and browser in one: it reads the options Passkeys hands out, and
// builds clientDataJSON, authenticatorData, the attestation object (CBOR) and the assertion
// signature the way a CTAP2 authenticator and a browser would. Every piece can be changed
// through a ceremony before it is encoded, which is how the refusal cases are made.

const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
	flagED = 0x80
)

type authenticator struct {
	key     *ecdsa.PrivateKey
	credID  []byte
	counter uint32
	aaguid  []byte
	flags   byte // extra flags (BE, BS) this authenticator always sets
}

func newAuthenticator(t testing.TB) *authenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &authenticator{key: k, credID: id, aaguid: make([]byte, 16)}
}

// ceremony is everything one response is made of; a mutation changes it before encoding.
type ceremony struct {
	Type, Origin, Challenge string
	CrossOrigin             bool
	RPID                    string // whose SHA-256 goes into authenticatorData
	Flags                   byte
	Counter                 uint32
	Format                  string // "none", "packed" (self), "packed-full", or anything else verbatim
	CredID                  []byte // in the attested data and as id/rawId
	UserHandle              []byte // assertions only; nil sends none
	COSE                    map[int]any
	Signer                  *ecdsa.PrivateKey // signs assertions and packed self attestation

	ClientData func(map[string]any)
	AuthData   func([]byte) []byte
	AttStmt    func(map[string]any)
	AttObject  func([]byte) []byte         // the encoded attestation object
	SignedData func(ad, cdh []byte) []byte // what the signature covers
	Signature  func([]byte) []byte
	Response   func(map[string]any) // the JSON sent to the server
}

type mutation func(*ceremony)

var b64 = base64.RawURLEncoding

func coseKey(k *ecdsa.PublicKey) map[int]any {
	raw, _ := k.Bytes()
	return map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:]}
}

// options reads what the browser needs from BeginRegistration or BeginLogin's JSON.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		UserVerification string `json:"userVerification"`
	} `json:"publicKey"`
}

func readOptions(t testing.TB, raw []byte) options {
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("options are not JSON: %v\n%s", err, raw)
	}
	return o
}

func (a *authenticator) base(o options, typ string) *ceremony {
	rp := o.PublicKey.RP.ID
	if rp == "" {
		rp = o.PublicKey.RPID
	}
	return &ceremony{Type: typ, Origin: testOrigin, Challenge: o.PublicKey.Challenge, RPID: rp,
		Flags: flagUP | flagUV | a.flags, Format: "none", CredID: a.credID, COSE: coseKey(&a.key.PublicKey), Signer: a.key}
}

// register answers creation options, as navigator.credentials.create would.
func (a *authenticator) register(t testing.TB, opts []byte, muts ...mutation) []byte {
	c := a.base(readOptions(t, opts), "webauthn.create")
	c.Flags |= flagAT
	c.Counter = a.counter
	for _, m := range muts {
		m(c)
	}
	cdj := c.clientData(t)
	ad := c.authData(t, true)
	att := c.attestation(t, ad, cdj)
	resp := map[string]any{"id": b64.EncodeToString(c.CredID), "rawId": b64.EncodeToString(c.CredID),
		"type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cdj),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal", "hybrid"}}}
	return c.encode(t, resp)
}

// login answers request options, as navigator.credentials.get would.
func (a *authenticator) login(t testing.TB, opts []byte, userHandle []byte, muts ...mutation) []byte {
	a.counter++
	c := a.base(readOptions(t, opts), "webauthn.get")
	c.Counter, c.UserHandle = a.counter, userHandle
	for _, m := range muts {
		m(c)
	}
	cdj := c.clientData(t)
	ad := c.authData(t, false)
	sig := c.sign(t, ad, cdj)
	r := map[string]any{"clientDataJSON": b64.EncodeToString(cdj), "authenticatorData": b64.EncodeToString(ad),
		"signature": b64.EncodeToString(sig)}
	if c.UserHandle != nil {
		r["userHandle"] = b64.EncodeToString(c.UserHandle)
	}
	resp := map[string]any{"id": b64.EncodeToString(c.CredID), "rawId": b64.EncodeToString(c.CredID),
		"type": "public-key", "clientExtensionResults": map[string]any{}, "response": r}
	return c.encode(t, resp)
}

func (c *ceremony) encode(t testing.TB, resp map[string]any) []byte {
	if c.Response != nil {
		c.Response(resp)
	}
	out, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *ceremony) clientData(t testing.TB) []byte {
	m := map[string]any{"type": c.Type, "challenge": c.Challenge, "origin": c.Origin, "crossOrigin": c.CrossOrigin}
	if c.ClientData != nil {
		c.ClientData(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// authData lays out rpIdHash ‖ flags ‖ counter ‖ [AAGUID ‖ L ‖ credentialId ‖ COSE key].
func (c *ceremony) authData(t testing.TB, attested bool) []byte {
	h := sha256.Sum256([]byte(c.RPID))
	ad := append([]byte{}, h[:]...)
	ad = append(ad, c.Flags)
	ad = binary.BigEndian.AppendUint32(ad, c.Counter)
	if attested {
		ad = append(ad, make([]byte, 16)...)
		ad = binary.BigEndian.AppendUint16(ad, uint16(len(c.CredID)))
		ad = append(ad, c.CredID...)
		ad = append(ad, ctap2(t, c.COSE)...)
	}
	if c.AuthData != nil {
		ad = c.AuthData(ad)
	}
	return ad
}

// ctap2 encodes v in CTAP2 canonical CBOR, as authenticators must.
func ctap2(t testing.TB, v any) []byte {
	em, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := em.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *ceremony) signed(ad, cdj []byte) []byte {
	cdh := sha256.Sum256(cdj)
	if c.SignedData != nil {
		return c.SignedData(ad, cdh[:])
	}
	return append(append([]byte{}, ad...), cdh[:]...)
}

func (c *ceremony) sign(t testing.TB, ad, cdj []byte) []byte {
	h := sha256.Sum256(c.signed(ad, cdj))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Signer, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if c.Signature != nil {
		sig = c.Signature(sig)
	}
	return sig
}

func (c *ceremony) attestation(t testing.TB, ad, cdj []byte) []byte {
	stmt := map[string]any{}
	format := c.Format
	switch c.Format {
	case "packed":
		stmt = map[string]any{"alg": -7, "sig": c.sign(t, ad, cdj)}
	case "packed-full":
		format = "packed"
		stmt = fullAttestation(t, c.signed(ad, cdj))
	}
	if c.AttStmt != nil {
		c.AttStmt(stmt)
	}
	obj := ctap2(t, map[string]any{"fmt": format, "attStmt": stmt, "authData": ad})
	if c.AttObject != nil {
		obj = c.AttObject(obj)
	}
	return obj
}

// fullAttestation signs with an attestation key whose certificate follows the packed format's
// rules (§8.2.1: version 3, C, O, OU "Authenticator Attestation", CN, not a CA).
func fullAttestation(t testing.TB, data []byte) map[string]any {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7),
		Subject: pkix.Name{Country: []string{"US"}, Organization: []string{"Latch Test"},
			OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: "Latch Test Key"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	sig, _ := ecdsa.SignASN1(rand.Reader, k, h[:])
	return map[string]any{"alg": -7, "sig": sig, "x5c": []any{der}}
}

// publicDER is the authenticator's public key in PKIX DER, as a device-key client sends it.
func (a *authenticator) publicDER(t testing.TB) []byte {
	der, err := x509.MarshalPKIXPublicKey(&a.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
