package agent

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/latchsh/latch/errs"
)

// Key providers: where the machine's and the device's private keys live.
const (
	// KeyProviderSoftware: P-256 keys in 0600 files of the state directory.
	KeyProviderSoftware = "software"
	// KeyProviderTPM: P-256 keys made by the machine's TPM, whose private parts never leave
	// it; the state directory holds them only wrapped by the TPM.
	KeyProviderTPM = "tpm"
)

// TPM modes of Connect.
const (
	TPMAuto    = "auto"    // the TPM when one is present and works, else software keys
	TPMRequire = "require" // the TPM or fail
	TPMOff     = "off"     // software keys even where there is a TPM
)

// Key files in the state directory, all 0600. A machine uses the PEM files or the TPM files,
// as State.KeyProvider says, never both.
const (
	tpmKeyFileName       = "tpm-key.json"
	tpmDeviceKeyFileName = "tpm-device-key.json"
)

// MachineKey is a private key of the machine: an *ecdsa.PrivateKey for the software
// provider, or a key whose private part is in a TPM. Sign takes a SHA-256 digest and
// returns an ASN.1 ECDSA signature, as crypto.Signer promises.
type MachineKey interface {
	crypto.Signer
	Equal(crypto.PrivateKey) bool
}

// providerOf names the provider that holds key.
func providerOf(key MachineKey) string {
	if _, ok := key.(*tpmKey); ok {
		return KeyProviderTPM
	}
	return KeyProviderSoftware
}

// newMachineKey makes the machine key as mode asks; the key is not saved yet. With auto,
// note says why the TPM was not used.
func newMachineKey(mode, device string) (key MachineKey, note string, err error) {
	const op = "agent.Connect"
	switch mode {
	case TPMOff:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k, "", err
	case TPMRequire:
		k, err := newTPMKey(device)
		if err != nil {
			return nil, "", errs.E(op, errs.Unavailable, "--tpm require: no working TPM at "+device, err)
		}
		return k, "", nil
	case TPMAuto, "":
		if k, err := newTPMKey(device); err == nil {
			return k, "", nil
		} else if _, serr := os.Stat(device); serr == nil {
			note = "the TPM at " + device + " did not work (" + err.Error() + "); the machine key is a file"
		} else {
			note = "no TPM at " + device + "; the machine key is a file"
		}
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k, note, err
	}
	return nil, "", errs.E(op, errs.Invalid, fmt.Sprintf("--tpm %q: want auto, require or off", mode))
}

// providerName is the provider a state names, software for states older than the choice.
func providerName(p string) string {
	if p == "" {
		return KeyProviderSoftware
	}
	return p
}

// keyFileOf is the file of the machine key under provider.
func keyFileOf(provider string) string {
	if provider == KeyProviderTPM {
		return tpmKeyFileName
	}
	return keyFile
}

// marshalKey is the content of the key's file: PKCS#8 PEM, or the TPM's wrapped areas.
func marshalKey(key MachineKey) ([]byte, error) {
	switch k := key.(type) {
	case *tpmKey:
		return k.marshal()
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("agent: encoding the key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	return nil, fmt.Errorf("agent: unknown key type %T", key)
}

// loadMachineKey reads the machine key of the state st from dir.
func loadMachineKey(dir string, st State) (MachineKey, error) {
	if st.KeyProvider == KeyProviderTPM {
		return loadTPMKey(filepath.Join(dir, tpmKeyFileName), st.TPM)
	}
	return loadKey(filepath.Join(dir, keyFile))
}

// deviceKey loads the device key from the state directory, or makes one with the machine
// key's provider: both keys live in the TPM, or both in files.
func deviceKey(dir string, st State) (MachineKey, error) {
	if st.KeyProvider == KeyProviderTPM {
		path := filepath.Join(dir, tpmDeviceKeyFileName)
		if fileExists(path) {
			return loadTPMKey(path, st.TPM)
		}
		k, err := newTPMKey(st.TPM)
		if err != nil {
			return nil, err
		}
		b, err := k.marshal()
		if err != nil {
			return nil, err
		}
		return k, writeFile(path, b, 0o600)
	}
	path := filepath.Join(dir, deviceKeyFile)
	if fileExists(path) {
		return loadKey(path)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	b, err := marshalKey(key)
	if err != nil {
		return nil, err
	}
	return key, writeFile(path, b, 0o600)
}

// existingDeviceKey reads the device key without making one.
func existingDeviceKey(dir string, st State) (MachineKey, error) {
	if st.KeyProvider == KeyProviderTPM {
		return loadTPMKey(filepath.Join(dir, tpmDeviceKeyFileName), st.TPM)
	}
	return loadKey(filepath.Join(dir, deviceKeyFile))
}

// signTest signs a fixed text with key and verifies the signature with pub, as dsregcmd's
// KeySignTest does: PASSED, or FAILED with why the key did not sign or mismatch when the
// signature does not verify.
func signTest(key MachineKey, pub crypto.PublicKey, mismatch string) string {
	sum := sha256.Sum256([]byte("latch key sign test"))
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "FAILED (" + err.Error() + ")"
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || !ecdsa.VerifyASN1(ec, sum[:], sig) {
		return "FAILED (" + mismatch + ")"
	}
	return "PASSED"
}

// errNotECDSA: a signer returned something other than an ASN.1 P-256 ECDSA signature.
var errNotECDSA = errors.New("agent: the machine key's signature is not an ASN.1 ECDSA signature")
