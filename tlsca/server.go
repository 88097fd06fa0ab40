package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Result says what Ensure found or made.
type Result struct {
	Files
	CreatedCA     bool      // a new CA was made: machines must be told to trust Files.CA
	IssuedServer  bool      // a new server certificate was issued
	ServerExpires time.Time // NotAfter of the server certificate now on disk
}

// Ensure makes dir hold a usable local CA and a server certificate for host (the public URL's
// host name or IP address) and returns the paths. It creates the CA on first use and reuses it
// afterwards; it issues a new server certificate when there is none, when it is unreadable,
// not from this CA, not yet valid, within RenewBefore of expiry, or does not cover host.
//
// Errors: a CA that is half present, does not match its key or has expired (see
// loadOrCreateCA), an invalid host, and file-system failures.
func Ensure(dir, host string, now time.Time) (Result, error) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || strings.ContainsAny(host, "/ *") {
		return Result{}, fmt.Errorf("cannot issue a certificate for host %q", host)
	}
	f := Paths(dir)
	ca, created, err := loadOrCreateCA(f, now)
	if err != nil {
		return Result{}, err
	}
	res := Result{Files: f, CreatedCA: created}
	if cert, ok := currentServerCert(f, ca, host, now); ok {
		res.ServerExpires = cert.NotAfter
		return res, nil
	}
	cert, err := issueServer(f, ca, host, now)
	if err != nil {
		return Result{}, fmt.Errorf("issuing the server certificate: %w", err)
	}
	res.IssuedServer, res.ServerExpires = true, cert.NotAfter
	return res, nil
}

// currentServerCert returns the server certificate on disk when it can go on being served.
// Any problem with it just means "issue a new one", so the reasons are not reported.
func currentServerCert(f Files, ca authority, host string, now time.Time) (*x509.Certificate, bool) {
	cert, err := readCert(f.Cert)
	if err != nil {
		return nil, false
	}
	key, err := readKey(f.Key)
	if err != nil || !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, false
	}
	if cert.CheckSignatureFrom(ca.cert) != nil {
		return nil, false // issued by an earlier CA
	}
	if now.Before(cert.NotBefore) || now.Add(RenewBefore).After(cert.NotAfter) {
		return nil, false
	}
	return cert, cert.VerifyHostname(host) == nil
}

// serverNames are the names a server certificate covers: the public host plus the loopback
// names, so that local tools work whatever the public URL says.
func serverNames(host string) (dns []string, ips []net.IP) {
	dns = []string{"localhost"}
	ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			ips = append(ips, ip)
		}
	} else if host != "localhost" {
		dns = append([]string{host}, dns...)
	}
	return dns, ips
}

func issueServer(f Files, ca authority, host string, now time.Time) (*x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(ServerLifetime)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter // a certificate may not outlive its issuer
	}
	if !notAfter.After(now.Add(RenewBefore)) {
		return nil, errors.New("the local CA expires within 30 days; replace it before issuing more certificates")
	}
	dns, ips := serverNames(host)
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{CommonName: host, Organization: []string{"Latch"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	if err := writeKey(f.Key, key); err != nil {
		return nil, err
	}
	if err := writeCert(f.Cert, der); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
