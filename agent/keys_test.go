package agent

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJWSSignature(t *testing.T) {
	big256 := new(big.Int).Lsh(big.NewInt(1), 256)
	der := func(r, s *big.Int) []byte { b, _ := asn1.Marshal(ecdsaSig{R: r, S: s}); return b }
	one := big.NewInt(1)
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"fail/empty", nil},
		{"fail/not-asn1", []byte("r||s")},
		{"fail/trailing-bytes", append(der(one, one), 0)},
		{"fail/zero-r", der(big.NewInt(0), one)},
		{"fail/negative-s", der(one, big.NewInt(-1))},
		{"fail/r-too-long", der(big256, one)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := jwsSignature(tt.in); err == nil {
				t.Fatalf("jwsSignature(%x) accepted", tt.in)
			}
		})
	}
	t.Run("ok/verifies-as-r-and-s", func(t *testing.T) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		sum := sha256.Sum256([]byte("proof"))
		sig, _ := key.Sign(rand.Reader, sum[:], crypto.SHA256)
		rs, err := jwsSignature(sig)
		if err != nil || len(rs) != 64 {
			t.Fatalf("jwsSignature = %x, %v", rs, err)
		}
		r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
		if !ecdsa.Verify(&key.PublicKey, sum[:], r, s) {
			t.Fatal("r||s does not verify")
		}
	})
}

func FuzzJWSSignature(f *testing.F) {
	b, _ := asn1.Marshal(ecdsaSig{R: big.NewInt(7), S: big.NewInt(9)})
	f.Add(b)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1024 {
			return
		}
		rs, err := jwsSignature(in)
		if err != nil {
			return
		}
		// r||s back to ASN.1 and again gives the same halves.
		again, err := jwsSignature(der(rs))
		if err != nil || string(again) != string(rs) {
			t.Fatalf("round trip of %x: %x, %v", rs, again, err)
		}
	})
}

func der(rs []byte) []byte {
	b, _ := asn1.Marshal(ecdsaSig{R: new(big.Int).SetBytes(rs[:32]), S: new(big.Int).SetBytes(rs[32:])})
	return b
}

func FuzzParseTPMKey(f *testing.F) {
	f.Add([]byte{0, 0}, []byte{0, 0})
	f.Add([]byte{0, 4, 0, 0x23, 0, 0x0b}, []byte{0, 1, 0})
	f.Fuzz(func(t *testing.T, public, private []byte) {
		if len(public)+len(private) > 4096 {
			return
		}
		k, err := parseTPMKey("tcp:127.0.0.1:1", public, private)
		if err != nil {
			return
		}
		if _, ok := k.Public().(*ecdsa.PublicKey); !ok || k.pub.Curve != elliptic.P256() {
			t.Fatalf("accepted a key that is not P-256: %T", k.Public())
		}
	})
}

func TestLoadMachineKeyRefusals(t *testing.T) {
	for _, tt := range []struct {
		name, file, content string
		mode                os.FileMode
		want                string
	}{
		{"fail/tpm-key-readable-by-others", "tpm-key.json", `{"public":"","private":""}`, 0o644, "0600"},
		{"fail/tpm-key-not-json", "tpm-key.json", "-----BEGIN PRIVATE KEY-----", 0o600, "damaged"},
		{"fail/tpm-key-empty-areas", "tpm-key.json", `{"public":"","private":""}`, 0o600, "public area"},
		{"fail/tpm-key-missing", "other.json", `{}`, 0o600, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), tt.mode)
			os.Chmod(filepath.Join(dir, tt.file), tt.mode)
			_, err := loadMachineKey(dir, State{KeyProvider: KeyProviderTPM, TPM: "tcp:127.0.0.1:1"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("loadMachineKey = %v, want %q", err, tt.want)
			}
		})
	}
}
