package cli

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"
)

// The device key: a P-256 key pair the CLI holds, registered as the user's device-bound
// credential. It lives in devicekey.json in the configuration directory (mode 0600). With a
// PIN, the private key is sealed with AES-256-GCM under a key derived from the PIN with
// argon2id, so a copy of the file alone does not sign anyone in.
const deviceKeyFile = "devicekey.json"

// deviceKeyState is devicekey.json.
type deviceKeyState struct {
	Server       string     `json:"server"`
	Tenant       string     `json:"tenant"`
	User         string     `json:"user"`
	CredentialID string     `json:"credentialId"` // base64url, the server's id of the key
	PublicKey    string     `json:"publicKey"`    // PKIX DER, base64
	PrivateKey   string     `json:"privateKey,omitempty"`
	Sealed       *sealedKey `json:"sealed,omitempty"`
}

// sealedKey is a PIN-protected private key.
type sealedKey struct {
	Salt       string `json:"salt"`
	Nonce      string `json:"nonce"`
	Ciphertext string `json:"ciphertext"`
}

var std = base64.StdEncoding

// newDeviceKey makes a key pair and its state, sealing the private key when pin is not "".
func newDeviceKey(pin string) (*ecdsa.PrivateKey, *deviceKeyState, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(pub)
	st := &deviceKeyState{PublicKey: std.EncodeToString(pub), CredentialID: base64.RawURLEncoding.EncodeToString(sum[:])}
	if pin == "" {
		st.PrivateKey = std.EncodeToString(priv)
		return k, st, nil
	}
	st.Sealed, err = seal(priv, pin)
	return k, st, err
}

// pinKey stretches a PIN; argon2id makes each guess at a stolen file cost real work.
func pinKey(pin string, salt []byte) []byte {
	return argon2.IDKey([]byte(pin), salt, 3, 64*1024, 2, 32)
}

func seal(priv []byte, pin string) (*sealedKey, error) {
	salt, nonce := make([]byte, 16), make([]byte, 12)
	rand.Read(salt)
	rand.Read(nonce)
	gcm, err := newGCM(pinKey(pin, salt))
	if err != nil {
		return nil, err
	}
	return &sealedKey{Salt: std.EncodeToString(salt), Nonce: std.EncodeToString(nonce),
		Ciphertext: std.EncodeToString(gcm.Seal(nil, nonce, priv, nil))}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// privateKey opens the key, asking pin for the PIN when the key is sealed.
func (st *deviceKeyState) privateKey(pin func() (string, error)) (*ecdsa.PrivateKey, error) {
	der, err := st.privateDER(pin)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if ec, ok := k.(*ecdsa.PrivateKey); err == nil && ok {
		return ec, nil
	}
	return nil, failf("%s holds no usable key; register again with 'latch passkey register --device'", deviceKeyFile)
}

func (st *deviceKeyState) privateDER(pin func() (string, error)) ([]byte, error) {
	if st.Sealed == nil {
		return std.DecodeString(st.PrivateKey)
	}
	p, err := pin()
	if err != nil {
		return nil, err
	}
	salt, err1 := std.DecodeString(st.Sealed.Salt)
	nonce, err2 := std.DecodeString(st.Sealed.Nonce)
	ct, err3 := std.DecodeString(st.Sealed.Ciphertext)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, failf("%s is damaged; register again with 'latch passkey register --device'", deviceKeyFile)
	}
	gcm, err := newGCM(pinKey(p, salt))
	if err != nil {
		return nil, err
	}
	der, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, failf("the PIN is not correct")
	}
	return der, nil
}

func loadDeviceKey(dir string) (*deviceKeyState, error) {
	var st deviceKeyState
	b, err := os.ReadFile(filepath.Join(dir, deviceKeyFile))
	if os.IsNotExist(err) {
		return nil, failf("this computer has no device key; run 'latch passkey register --device' first")
	}
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return nil, failf("cannot read %s: %v", deviceKeyFile, err)
	}
	return &st, nil
}

// saveDeviceKey writes the state with mode 0600 (writeJSONFile's), atomically.
func saveDeviceKey(dir string, st *deviceKeyState) error {
	return writeJSONFile(dir, deviceKeyFile, st)
}
