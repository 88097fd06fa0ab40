package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/internal/compactjws"
)

// MaxSSHJWKSize caps a req_cnf JWK: an 8192-bit RSA key with every accepted member fits.
const MaxSSHJWKSize = 4096

// RSA sizes accepted for a certificate's key. Below 2048 is too weak; above 8192 only costs
// every sshd that verifies it, and OpenSSH clients do not make such keys.
const (
	minSSHRSABits = 2048
	maxSSHRSABits = 8192
)

// sshJWKPrivate are members that only a private key has: a client that sends one has leaked
// its key to us, and we say so rather than quietly ignore it.
var sshJWKPrivate = map[string]bool{"d": true, "p": true, "q": true, "dp": true, "dq": true,
	"qi": true, "oth": true, "k": true}

// sshJWKMembers are the members each key type may carry; anything else is refused.
var sshJWKMembers = map[string][]string{
	"RSA": {"kty", "n", "e", "kid", "alg", "use"},
	"EC":  {"kty", "crv", "x", "y", "kid", "alg", "use"},
	"OKP": {"kty", "crv", "x", "kid", "alg", "use"},
}

// sshJWKAlgs pins the optional "alg" member to the key it describes.
var sshJWKAlgs = map[string][]string{
	"RSA": {"RS256", "RS384", "RS512"}, "P-256": {"ES256"}, "P-384": {"ES384"}, "Ed25519": {"EdDSA"},
}

// ParseSSHPublicKeyJWK reads the public key of an SSH certificate request: one JSON object
// of at most MaxSSHJWKSize bytes, no duplicate keys, string members only, no private-key
// members, no members foreign to its key type, strict unpadded base64url. Accepted keys:
// RSA of 2048 to 8192 bits with an odd exponent of at most 24 bits, EC on P-256 or P-384 (the
// point checked to be on the curve), and OKP Ed25519. Errors say what is wrong, for the client.
func ParseSSHPublicKeyJWK(b []byte) (ssh.PublicKey, error) {
	m, err := decodeSSHJWK(b)
	if err != nil {
		return nil, err
	}
	var pub crypto.PublicKey
	switch m["kty"] {
	case "RSA":
		pub, err = rsaFromJWK(m)
	case "EC":
		pub, err = ecFromJWK(m)
	case "OKP":
		pub, err = okpFromJWK(m)
	}
	if err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

// decodeSSHJWK checks the JSON and the member names, and returns the members.
func decodeSSHJWK(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, errors.New("req_cnf: no public key")
	}
	if len(b) > MaxSSHJWKSize {
		return nil, fmt.Errorf("req_cnf: the key is larger than %d bytes", MaxSSHJWKSize)
	}
	if err := compactjws.CheckJSON(b, nil); err != nil {
		return nil, fmt.Errorf("req_cnf: %w", err)
	}
	m, names, err := stringMembers(b)
	if err != nil {
		return nil, err
	}
	slices.Sort(names) // the same input always gets the same error
	for _, k := range names {
		if sshJWKPrivate[k] {
			return nil, fmt.Errorf("req_cnf: the key holds private member %q; send the public key only", k)
		}
	}
	allowed, ok := sshJWKMembers[m["kty"]]
	if !ok {
		return nil, fmt.Errorf("req_cnf: key type %q is not accepted (RSA, EC or OKP)", m["kty"])
	}
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("req_cnf: member %q is not accepted in an %s key", k, m["kty"])
		}
	}
	if u, ok := m["use"]; ok && u != "sig" {
		return nil, fmt.Errorf("req_cnf: use %q is not accepted", u)
	}
	return m, nil
}

// stringMembers decodes a JSON object whose members must all be strings (null is not one),
// and returns them with their names.
func stringMembers(b []byte) (map[string]string, []string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, nil, errors.New("req_cnf: not a JSON object")
	}
	m := make(map[string]string, len(raw))
	names := make([]string, 0, len(raw))
	for k, v := range raw {
		var s string
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return nil, nil, fmt.Errorf("req_cnf: member %q must be a string", k)
		}
		m[k] = s
		names = append(names, k)
	}
	return m, names, nil
}

// checkAlg refuses an "alg" member that names another kind of key than family.
func checkAlg(m map[string]string, family string) error {
	a, ok := m["alg"]
	if ok && !slices.Contains(sshJWKAlgs[family], a) {
		return fmt.Errorf("req_cnf: alg %q does not fit a key of type %s", a, family)
	}
	return nil
}

// b64Member decodes member name strictly; it must be present and non-empty.
func b64Member(m map[string]string, name string) ([]byte, error) {
	s, ok := m[name]
	if !ok || s == "" {
		return nil, fmt.Errorf("req_cnf: member %q is missing", name)
	}
	b, err := compactjws.DecodeB64(s)
	if err != nil {
		return nil, fmt.Errorf("req_cnf: member %q is not strict base64url", name)
	}
	return b, nil
}

func rsaFromJWK(m map[string]string) (crypto.PublicKey, error) {
	if err := checkAlg(m, "RSA"); err != nil {
		return nil, err
	}
	n, err := b64Member(m, "n")
	if err != nil {
		return nil, err
	}
	e, err := b64Member(m, "e")
	if err != nil {
		return nil, err
	}
	// Leading zero bytes would give one key two spellings.
	if n[0] == 0 || e[0] == 0 {
		return nil, errors.New("req_cnf: RSA members must not start with a zero byte")
	}
	N := new(big.Int).SetBytes(n)
	if bits := N.BitLen(); bits < minSSHRSABits || bits > maxSSHRSABits || N.Bit(0) == 0 {
		return nil, fmt.Errorf("req_cnf: an RSA key must have an odd modulus of %d to %d bits, not %d",
			minSSHRSABits, maxSSHRSABits, bits)
	}
	// x/crypto/ssh refuses exponents over 24 bits; an even or tiny one is not an RSA key.
	if len(e) > 3 {
		return nil, errors.New("req_cnf: the RSA exponent is too large")
	}
	E := int(new(big.Int).SetBytes(e).Int64())
	if E < 3 || E%2 == 0 {
		return nil, errors.New("req_cnf: the RSA exponent must be odd and at least 3")
	}
	return &rsa.PublicKey{N: N, E: E}, nil
}

func ecFromJWK(m map[string]string) (crypto.PublicKey, error) {
	var curve elliptic.Curve
	switch m["crv"] {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	default:
		return nil, fmt.Errorf("req_cnf: curve %q is not accepted for EC (P-256 or P-384)", m["crv"])
	}
	if err := checkAlg(m, m["crv"]); err != nil {
		return nil, err
	}
	x, err := b64Member(m, "x")
	if err != nil {
		return nil, err
	}
	y, err := b64Member(m, "y")
	if err != nil {
		return nil, err
	}
	size := (curve.Params().BitSize + 7) / 8
	if len(x) != size || len(y) != size {
		return nil, fmt.Errorf("req_cnf: x and y of a %s key are %d bytes each", m["crv"], size)
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, errors.New("req_cnf: the point is not on the curve")
	}
	return pub, nil
}

func okpFromJWK(m map[string]string) (crypto.PublicKey, error) {
	if m["crv"] != "Ed25519" {
		return nil, fmt.Errorf("req_cnf: curve %q is not accepted for OKP (Ed25519)", m["crv"])
	}
	if err := checkAlg(m, "Ed25519"); err != nil {
		return nil, err
	}
	x, err := b64Member(m, "x")
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("req_cnf: x of an Ed25519 key is %d bytes", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// SSHPublicKeyJWK writes pub (a crypto public key, or an ssh.PublicKey of one) as the
// canonical req_cnf JWK that ParseSSHPublicKeyJWK accepts: members in a fixed order, nothing
// optional. Clients use it to build a certificate request. It returns an error for a key type
// or size the token service would refuse.
func SSHPublicKeyJWK(pub any) ([]byte, error) {
	if k, ok := pub.(ssh.CryptoPublicKey); ok {
		pub = k.CryptoPublicKey()
	}
	enc := base64.RawURLEncoding.EncodeToString
	var out string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		out = fmt.Sprintf(`{"kty":"RSA","n":"%s","e":"%s"}`, enc(k.N.Bytes()), enc(big.NewInt(int64(k.E)).Bytes()))
	case *ecdsa.PublicKey:
		raw, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("SSHPublicKeyJWK: %w", err)
		}
		size := (len(raw) - 1) / 2
		out = fmt.Sprintf(`{"kty":"EC","crv":"%s","x":"%s","y":"%s"}`, k.Curve.Params().Name,
			enc(raw[1:1+size]), enc(raw[1+size:]))
	case ed25519.PublicKey:
		out = fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":"%s"}`, enc(k))
	default:
		return nil, fmt.Errorf("SSHPublicKeyJWK: key type %T is not accepted", pub)
	}
	if _, err := ParseSSHPublicKeyJWK([]byte(out)); err != nil {
		return nil, fmt.Errorf("SSHPublicKeyJWK: %w", err)
	}
	return []byte(out), nil
}
