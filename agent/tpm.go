package agent

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
	"github.com/google/go-tpm/tpm2/transport/tcp"

	"github.com/latchsh/latch/errs"
)

// DefaultTPMDevice is the kernel's resource-managed TPM device, which several programs may
// use at once.
const DefaultTPMDevice = "/dev/tpmrm0"

// tpmTCPPrefix marks a TPM address that is a simulator speaking the reference TCP protocol
// (swtpm, the TCG simulator): its command port, the platform port being the next one.
const tpmTCPPrefix = "tcp:"

// tpmMu serializes this process's use of TPMs: a simulator serves one connection at a time,
// and the machine and device keys share one TPM.
var tpmMu sync.Mutex

// openTPM opens the TPM at addr: a device path, or tcp:host:port for a simulator.
func openTPM(addr string) (transport.TPMCloser, error) {
	hostPort, ok := strings.CutPrefix(addr, tpmTCPPrefix)
	if !ok {
		return linuxtpm.Open(addr)
	}
	host, port, err := net.SplitHostPort(hostPort)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p <= 0 || p >= 65535 {
		return nil, fmt.Errorf("TPM simulator address %q is not host:port", hostPort)
	}
	return tcp.Open(tcp.Config{CommandAddress: hostPort, PlatformAddress: net.JoinHostPort(host, strconv.Itoa(p+1))})
}

// srkTemplate is the parent of the agent's keys: the TCG's reference ECC P-256 storage key.
// Created under the owner hierarchy from the same template, it is the same key every time
// (the TPM derives it from the hierarchy's seed), so no persistent handle is needed.
var srkTemplate = tpm2.ECCSRKTemplate

// signingKeyTemplate is a P-256 ECDSA/SHA-256 key that signs only, cannot leave this TPM nor
// move to another parent, and needs no authorization value: what protects it is that its
// private part, wrapped by the parent, is usable in this TPM alone.
var signingKeyTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgECC,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true,
		UserWithAuth: true, NoDA: true, SignEncrypt: true},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
		CurveID: tpm2.TPMECCNistP256,
		Scheme: tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA,
			&tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256})},
	}),
}

// tpmKey is a signing key held by a TPM. The agent keeps only its public area and its
// private area as the TPM wrapped it (useless outside that TPM); each signature loads it
// under a freshly created parent, so a TPM reset or another program's flush never strands it.
type tpmKey struct {
	addr    string
	public  []byte // TPM2B_PUBLIC
	private []byte // TPM2B_PRIVATE, encrypted by the parent
	pub     *ecdsa.PublicKey
}

// tpmKeyFile is how a TPM key is kept on disk.
type tpmKeyFile struct {
	Public  []byte `json:"public"`
	Private []byte `json:"private"`
}

// withTPM runs f with the TPM at addr open and the parent key created, then flushes the
// parent and closes the TPM.
func withTPM(addr string, f func(t transport.TPM, parent tpm2.AuthHandle) error) error {
	tpmMu.Lock()
	defer tpmMu.Unlock()
	t, err := openTPM(addr)
	if err != nil {
		return err
	}
	defer t.Close()
	srk, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(srkTemplate)}.Execute(t)
	if err != nil {
		return fmt.Errorf("creating the storage key under the owner hierarchy: %w", err)
	}
	defer tpm2.FlushContext{FlushHandle: srk.ObjectHandle}.Execute(t)
	return f(t, tpm2.AuthHandle{Handle: srk.ObjectHandle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)})
}

// newTPMKey creates a signing key in the TPM at addr. It fails when there is no TPM there
// or the TPM refuses (an owner hierarchy with a password, for one).
func newTPMKey(addr string) (*tpmKey, error) {
	var k *tpmKey
	err := withTPM(addr, func(t transport.TPM, parent tpm2.AuthHandle) error {
		rsp, err := tpm2.Create{ParentHandle: parent, InPublic: tpm2.New2B(signingKeyTemplate)}.Execute(t)
		if err != nil {
			return fmt.Errorf("creating the signing key: %w", err)
		}
		k, err = parseTPMKey(addr, tpm2.Marshal(rsp.OutPublic), tpm2.Marshal(rsp.OutPrivate))
		return err
	})
	if err != nil {
		return nil, errs.E("agent.newTPMKey", errs.Unavailable, "the TPM at "+addr+" could not make a key", err)
	}
	return k, nil
}

// parseTPMKey reads a key's saved areas and checks the public one is a P-256 ECDSA signing key.
func parseTPMKey(addr string, public, private []byte) (*tpmKey, error) {
	b2, err := tpm2.Unmarshal[tpm2.TPM2BPublic](public)
	if err != nil {
		return nil, fmt.Errorf("the key's public area is unreadable: %w", err)
	}
	pa, err := b2.Contents()
	if err != nil {
		return nil, fmt.Errorf("the key's public area is unreadable: %w", err)
	}
	if pa.Type != tpm2.TPMAlgECC || !pa.ObjectAttributes.SignEncrypt || !pa.ObjectAttributes.FixedTPM {
		return nil, errors.New("the key is not a TPM-bound ECC signing key")
	}
	params, err := pa.Parameters.ECCDetail()
	if err != nil {
		return nil, err
	}
	point, err := pa.Unique.ECC()
	if err != nil {
		return nil, err
	}
	pub, err := tpm2.ECDSAPub(params, point)
	if err != nil || params.CurveID != tpm2.TPMECCNistP256 {
		return nil, errors.New("the key is not a P-256 key")
	}
	if _, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](private); err != nil {
		return nil, fmt.Errorf("the key's private area is unreadable: %w", err)
	}
	return &tpmKey{addr: addr, public: public, private: private, pub: pub}, nil
}

// Public is the key's public half.
func (k *tpmKey) Public() crypto.PublicKey { return k.pub }

// Equal reports whether x is the same TPM key.
func (k *tpmKey) Equal(x crypto.PrivateKey) bool {
	o, ok := x.(*tpmKey)
	return ok && o.addr == k.addr && bytes.Equal(o.public, k.public) && bytes.Equal(o.private, k.private)
}

// Sign signs a SHA-256 digest in the TPM and returns an ASN.1 ECDSA signature, as
// crypto.Signer promises. Other hashes are refused: the key was made for SHA-256 only.
func (k *tpmKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 || len(digest) != 32 {
		return nil, errors.New("agent: the TPM key signs SHA-256 digests only")
	}
	var sig []byte
	err := withTPM(k.addr, func(t transport.TPM, parent tpm2.AuthHandle) error {
		priv, _ := tpm2.Unmarshal[tpm2.TPM2BPrivate](k.private)
		pub, _ := tpm2.Unmarshal[tpm2.TPM2BPublic](k.public)
		l, err := tpm2.Load{ParentHandle: parent, InPrivate: *priv, InPublic: *pub}.Execute(t)
		if err != nil {
			return fmt.Errorf("loading the key (made by another TPM, or the owner hierarchy was cleared?): %w", err)
		}
		defer tpm2.FlushContext{FlushHandle: l.ObjectHandle}.Execute(t)
		sig, err = tpmSign(t, tpm2.AuthHandle{Handle: l.ObjectHandle, Name: l.Name, Auth: tpm2.PasswordAuth(nil)}, digest)
		return err
	})
	if err != nil {
		return nil, errs.E("agent.tpmKey.Sign", errs.Unavailable, "the TPM at "+k.addr+" could not sign", err)
	}
	return sig, nil
}

// tpmSign signs digest with the loaded key and encodes r and s in ASN.1.
func tpmSign(t transport.TPM, key tpm2.AuthHandle, digest []byte) ([]byte, error) {
	rsp, err := tpm2.Sign{KeyHandle: key, Digest: tpm2.TPM2BDigest{Buffer: digest},
		InScheme: tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMAlgSHA256})},
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull}}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	ec, err := rsp.Signature.Signature.ECDSA()
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ecdsaSig{R: new(big.Int).SetBytes(ec.SignatureR.Buffer), S: new(big.Int).SetBytes(ec.SignatureS.Buffer)})
}

// ecdsaSig is the ASN.1 form of an ECDSA signature.
type ecdsaSig struct{ R, S *big.Int }

// marshal is the key's file: its two areas, which only this TPM can use.
func (k *tpmKey) marshal() ([]byte, error) {
	b, err := json.MarshalIndent(tpmKeyFile{Public: k.public, Private: k.private}, "", "  ")
	return append(b, '\n'), err
}

// loadTPMKey reads a key file written by marshal, for the TPM at addr.
func loadTPMKey(path, addr string) (*tpmKey, error) {
	b, err := readPrivateFile(path)
	if err != nil {
		return nil, err
	}
	var f tpmKeyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("agent: TPM key %s is damaged: %w", path, err)
	}
	k, err := parseTPMKey(addr, f.Public, f.Private)
	if err != nil {
		return nil, fmt.Errorf("agent: TPM key %s: %w", path, err)
	}
	return k, nil
}

// readPrivateFile reads a file that must be readable by its owner only.
func readPrivateFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("agent: key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("agent: key %s is readable by others (mode %v); it must be 0600", path, fi.Mode().Perm())
	}
	return os.ReadFile(path)
}
