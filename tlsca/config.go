package tlsca

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// cipherSuites are the TLS 1.2 suites offered: forward-secret ECDHE with AEAD ciphers only.
// TLS 1.3 suites are not configurable in Go and are all modern.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Keypair serves one certificate and key from PEM files and can reload them while the server
// runs, so a renewed certificate takes effect without a restart.
type Keypair struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadKeypair reads certFile and keyFile. It fails when either cannot be read or parsed, or
// when they do not belong together.
func LoadKeypair(certFile, keyFile string) (*Keypair, error) {
	k := &Keypair{certFile: certFile, keyFile: keyFile}
	return k, k.Reload()
}

// Reload reads the files again; on failure the previous certificate stays in use.
func (k *Keypair) Reload() error {
	c, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("loading TLS certificate %s and key %s: %w", k.certFile, k.keyFile, err)
	}
	k.cur.Store(&c)
	return nil
}

// ServerConfig returns a tls.Config for an HTTPS server presenting k's certificate: TLS 1.2
// or later, AEAD cipher suites, HTTP/2 and HTTP/1.1 offered.
func (k *Keypair) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: cipherSuites,
		NextProtos:   []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return k.cur.Load(), nil
		},
	}
}
