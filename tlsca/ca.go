package tlsca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Lifetimes and margins of what Ensure issues.
const (
	CALifetime     = 10 * 365 * 24 * time.Hour
	ServerLifetime = 365 * 24 * time.Hour
	RenewBefore    = 30 * 24 * time.Hour
	// backdate covers clocks of clients that run a little behind the server's.
	backdate = 5 * time.Minute
)

// CAName is the common name of the local CA, as browsers and the trust store show it.
const CAName = "Latch local CA"

// Files are the paths of the local CA and the server certificate inside one directory.
type Files struct {
	Dir, CA, CAKey, Cert, Key string
}

// Paths returns the file names Ensure uses in dir.
func Paths(dir string) Files {
	return Files{Dir: dir, CA: filepath.Join(dir, CAFile), CAKey: filepath.Join(dir, CAKeyFile),
		Cert: filepath.Join(dir, ServerFile), Key: filepath.Join(dir, ServerKeyFile)}
}

type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// loadOrCreateCA returns the CA in f, creating it only when neither of its files exists.
// Half a CA, a key that does not match, or an expired CA are errors: replacing a CA that
// machines trust would silently break every one of them.
func loadOrCreateCA(f Files, now time.Time) (authority, bool, error) {
	cert, certErr := readCert(f.CA)
	key, keyErr := readKey(f.CAKey)
	if errors.Is(certErr, errMissing) && errors.Is(keyErr, errMissing) {
		ca, err := createCA(f, now)
		return ca, true, err
	}
	if err := errors.Join(certErr, keyErr); err != nil {
		return authority{}, false, fmt.Errorf("the local CA in %s is incomplete or unreadable (%w); restore it, or move the directory away to create a new CA that machines must then trust again", f.Dir, err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) || !cert.IsCA {
		return authority{}, false, fmt.Errorf("%s and %s do not belong together as a CA", f.CA, f.CAKey)
	}
	if now.After(cert.NotAfter) {
		return authority{}, false, fmt.Errorf("the local CA %s expired on %s; move %s away to create a new one, and make machines trust the new ca.pem", f.CA, cert.NotAfter.Format(time.DateOnly), f.Dir)
	}
	return authority{cert, key}, false, nil
}

func createCA(f Files, now time.Time) (authority, error) {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return authority{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return authority{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: CAName, Organization: []string{"Latch"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs server certificates, never other CAs
		// SubjectKeyId is left for CreateCertificate, which derives it from the key for a CA.
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return authority{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return authority{}, err
	}
	// The key goes first: a crash between the two writes leaves a key without a certificate,
	// which the next start reports instead of trusting a certificate with no key.
	if err := writeKey(f.CAKey, key); err != nil {
		return authority{}, err
	}
	return authority{cert, key}, writeCert(f.CA, der)
}

// newSerial returns a random 128-bit positive serial number, as the CA/B Forum asks (≥64 bits).
func newSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ae, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ae.Equal(b)
}
