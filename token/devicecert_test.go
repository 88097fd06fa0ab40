package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
)

var deviceNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func csrFor(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "vm1"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseDeviceCSR(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	tampered := csrFor(t, p256)
	tampered[len(tampered)-3] ^= 0xff
	cases := []struct {
		name string
		der  []byte
		ok   bool
	}{
		{"fail/empty", nil, false},
		{"fail/garbage", []byte("not a request"), false},
		{"fail/oversized", make([]byte, MaxDeviceCSR+1), false},
		{"fail/p384", csrFor(t, p384), false},
		{"fail/rsa-1024", csrFor(t, rsa1024), false},
		{"fail/ed25519", csrFor(t, ed), false},
		{"fail/bad-signature", tampered, false},
		{"ok/p256", csrFor(t, p256), true},
		{"ok/rsa-2048", csrFor(t, rsa2048), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pub, err := ParseDeviceCSR(c.der)
			if c.ok != (err == nil) {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
			if err != nil && !errs.Is(err, errs.Invalid) {
				t.Fatalf("refusal of kind %v, want Invalid", errs.KindOf(err))
			}
			if c.ok && pub == nil {
				t.Fatal("accepted without a key")
			}
		})
	}
}

func TestDeviceCAIssues(t *testing.T) {
	ca, err := NewDeviceCA("tenant-a", deviceNow)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := ca.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	ca, err = UnmarshalDeviceCA(stored)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, err := ParseDeviceCSR(csrFor(t, key))
	if err != nil {
		t.Fatal(err)
	}
	const deviceID = "6f1d8d4e-3a52-4b9e-8f0e-2b1c0d9e8a7f"
	dc, err := ca.IssueDeviceCert(pub, deviceID, deviceNow)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(dc.DER)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: deviceNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatalf("the device certificate does not chain to its CA: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: deviceNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Fatal("a device certificate verified for server authentication")
	}
	if cert.Subject.CommonName != deviceID || cert.IsCA || !cert.NotAfter.Equal(deviceNow.Add(DeviceCertLifetime)) ||
		dc.Thumbprint != Thumbprint(dc.DER) || len(dc.Thumbprint) != 40 {
		t.Fatalf("issued %+v (CN %q, CA %v, notAfter %v)", dc, cert.Subject.CommonName, cert.IsCA, cert.NotAfter)
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatal("the certificate does not carry the request's key")
	}
}

func TestUnmarshalDeviceCARefusesMismatch(t *testing.T) {
	a, _ := NewDeviceCA("a", deviceNow)
	b, _ := NewDeviceCA("b", deviceNow)
	mixed, _ := (&DeviceCA{cert: a.cert, key: b.key}).MarshalBinary()
	for name, in := range map[string][]byte{"fail/garbage": []byte("x"), "fail/mismatched-key": mixed, "fail/empty": nil} {
		t.Run(name, func(t *testing.T) {
			if _, err := UnmarshalDeviceCA(in); !errs.Is(err, errs.Invalid) {
				t.Fatalf("got %v, want Invalid", err)
			}
		})
	}
}

// FuzzParseDeviceCSR: no panic, and whatever is accepted is a P-256 or RSA key whose request
// parses and verifies again.
func FuzzParseDeviceCSR(f *testing.F) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Add(csrFor(f, p256))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		pub, err := ParseDeviceCSR(der)
		if err != nil {
			return
		}
		csr, perr := x509.ParseCertificateRequest(der)
		if perr != nil || csr.CheckSignature() != nil || len(der) > MaxDeviceCSR {
			t.Fatalf("accepted a request that does not parse or verify")
		}
		switch k := pub.(type) {
		case *ecdsa.PublicKey:
			if k.Curve != elliptic.P256() {
				t.Fatal("accepted a curve other than P-256")
			}
		case *rsa.PublicKey:
			if k.N.BitLen() < minDeviceRSABits {
				t.Fatal("accepted a short RSA key")
			}
		default:
			t.Fatalf("accepted a %T key", pub)
		}
	})
}
