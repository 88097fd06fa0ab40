package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// Lifetimes of the device authority and of the certificates it issues.
const (
	DeviceCALifetime   = 30 * 365 * 24 * time.Hour
	DeviceCertLifetime = 365 * 24 * time.Hour
	// deviceBackdate covers devices whose clocks run a little behind the server's.
	deviceBackdate = 5 * time.Minute
	// MaxDeviceCSR caps a certificate request before it is parsed; a P-256 or 4096-bit RSA
	// request with a short subject is well under 2 KiB.
	MaxDeviceCSR     = 8 << 10
	minDeviceRSABits = 2048
	maxDeviceRSABits = 8192
)

// DeviceCA is a tenant's device certificate authority: an ECDSA P-256 key and a self-signed
// certificate. It issues the certificate a device proves itself with, as Entra's device
// registration service does. A DeviceCA is immutable and safe for concurrent use.
type DeviceCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewDeviceCA makes a new authority for the tenant, valid from now for DeviceCALifetime. It
// fails only if the system's random source does.
func NewDeviceCA(tenantID string, now time.Time) (*DeviceCA, error) {
	const op = "token.NewDeviceCA"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	serial, err := randomX509Serial()
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Latch device CA", OrganizationalUnit: []string{tenantID}},
		NotBefore:             now.Add(-deviceBackdate).UTC(),
		NotAfter:              now.Add(DeviceCALifetime).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	return &DeviceCA{cert: cert, key: key}, nil
}

// Certificate is the authority's certificate, the one relying parties trust.
func (c *DeviceCA) Certificate() *x509.Certificate { return c.cert }

// deviceCAWire is the stored form: both halves DER, so a reader can check they belong together.
type deviceCAWire struct {
	Cert []byte
	Key  []byte
}

// MarshalBinary is the form the store keeps: an ASN.1 sequence of the certificate DER and the
// PKCS#8 private key. It is secret.
func (c *DeviceCA) MarshalBinary() ([]byte, error) {
	key, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		return nil, errs.E("token.DeviceCA.MarshalBinary", errs.Internal, err)
	}
	out, err := asn1.Marshal(deviceCAWire{Cert: c.cert.Raw, Key: key})
	if err != nil {
		return nil, errs.E("token.DeviceCA.MarshalBinary", errs.Internal, err)
	}
	return out, nil
}

// UnmarshalDeviceCA reads what MarshalBinary wrote. It returns an errs.Invalid error when the
// bytes are not a P-256 CA certificate with its own private key: a stored authority that does
// not hold together is refused rather than used.
func UnmarshalDeviceCA(b []byte) (*DeviceCA, error) {
	const op = "token.UnmarshalDeviceCA"
	var w deviceCAWire
	if rest, err := asn1.Unmarshal(b, &w); err != nil || len(rest) != 0 {
		return nil, errs.E(op, errs.Invalid, "the stored device certificate authority is not readable")
	}
	cert, err := x509.ParseCertificate(w.Cert)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, "the stored device CA certificate is not readable", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(w.Key)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, "the stored device CA key is not readable", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	pub, pubOK := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pubOK || key.Curve != elliptic.P256() || !key.PublicKey.Equal(pub) || !cert.IsCA {
		return nil, errs.E(op, errs.Invalid, "the stored device CA certificate and key do not belong together")
	}
	return &DeviceCA{cert: cert, key: key}, nil
}

// DeviceCert is a certificate the authority issued.
type DeviceCert struct {
	DER        []byte
	Thumbprint string // SHA-1 of DER, upper-case hex, as Windows and dsregcmd show thumbprints
	Serial     string // hex
	NotBefore  time.Time
	NotAfter   time.Time
}

// IssueDeviceCert certifies pub as the device deviceID: subject CN=<deviceID>, client
// authentication only, valid for DeviceCertLifetime from now. pub must come from
// ParseDeviceCSR, which has checked its type and size.
func (c *DeviceCA) IssueDeviceCert(pub crypto.PublicKey, deviceID string, now time.Time) (DeviceCert, error) {
	const op = "token.IssueDeviceCert"
	serial, err := randomX509Serial()
	if err != nil {
		return DeviceCert{}, errs.E(op, errs.Internal, err)
	}
	notBefore := now.Add(-deviceBackdate).UTC().Truncate(time.Second)
	notAfter := now.Add(DeviceCertLifetime).UTC().Truncate(time.Second)
	if notAfter.After(c.cert.NotAfter) { // never outlive the authority
		notAfter = c.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: deviceID},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, pub, c.key)
	if err != nil {
		return DeviceCert{}, errs.E(op, errs.Internal, err)
	}
	return DeviceCert{DER: der, Thumbprint: Thumbprint(der), Serial: hex.EncodeToString(serial.Bytes()),
		NotBefore: notBefore, NotAfter: notAfter}, nil
}

// Thumbprint is the SHA-1 of a certificate's DER in upper-case hex. SHA-1 because that is what
// Windows, dsregcmd and Entra's alternativeSecurityIds call a thumbprint; it names, it does not
// protect.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// randomX509Serial is a positive 128-bit serial, unguessable as the CA/Browser rules ask.
func randomX509Serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

// ParseDeviceCSR reads a PKCS#10 certificate request in DER and returns its public key after
// checking the request's own signature. Only ECDSA P-256 and RSA keys of 2048 to 8192 bits
// are accepted, and requests over MaxDeviceCSR are refused unparsed. Every refusal is an
// errs.Invalid error; the subject is ignored, since the certificate names the device id the
// directory chose.
func ParseDeviceCSR(der []byte) (crypto.PublicKey, error) {
	const op = "token.ParseDeviceCSR"
	bad := func(msg string, err error) error {
		return errs.E(op, errs.Invalid, errs.Code("InvalidCertificateRequest"), msg, err)
	}
	if len(der) == 0 || len(der) > MaxDeviceCSR {
		return nil, bad("The certificate request must be a PKCS#10 request of at most 8 KiB.", nil)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, bad("The certificate request is not a PKCS#10 request.", err)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, bad("The certificate request's key must be ECDSA P-256 or RSA of at least 2048 bits.", nil)
		}
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minDeviceRSABits || n > maxDeviceRSABits {
			return nil, bad("The certificate request's key must be ECDSA P-256 or RSA of 2048 to 8192 bits.", nil)
		}
	default:
		return nil, bad("The certificate request's key must be ECDSA P-256 or RSA of at least 2048 bits.", nil)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, bad("The certificate request's signature does not verify.", err)
	}
	return csr.PublicKey, nil
}
