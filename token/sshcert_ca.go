package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/errs"
)

// SSHCA is a tenant's SSH user certificate authority: an Ed25519 key that signs the
// certificates IssueSSHCert makes and that machines trust through TrustedUserCAKeys. Ed25519
// because every OpenSSH since 6.5 verifies it, its signatures are the cheapest to make, and it
// has no parameters to get wrong. An SSHCA is immutable and safe for concurrent use.
type SSHCA struct {
	priv   ed25519.PrivateKey
	signer ssh.Signer
}

// NewSSHCA makes a new authority with a fresh key. It fails only if the system's random
// source does.
func NewSSHCA() (*SSHCA, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, errs.E("token.NewSSHCA", errs.Internal, err)
	}
	return sshCAFromKey(priv)
}

func sshCAFromKey(priv ed25519.PrivateKey) (*SSHCA, error) {
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, errs.E("token.SSHCA", errs.Internal, err)
	}
	return &SSHCA{priv: priv, signer: signer}, nil
}

// Signer is the authority's signer, for IssueSSHCert.
func (c *SSHCA) Signer() ssh.Signer { return c.signer }

// PublicKey is the authority's public key, the one machines must trust.
func (c *SSHCA) PublicKey() ssh.PublicKey { return c.signer.PublicKey() }

// AuthorizedKeyLine is the public key as one line of a TrustedUserCAKeys file,
// "ssh-ed25519 AAAA…", without a trailing newline or comment.
func (c *SSHCA) AuthorizedKeyLine() string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(c.PublicKey())), "\n")
}

// MarshalBinary is the form the store keeps: the private key as PKCS#8 DER, the same
// encoding as the token signing keys, which ssh-keygen and openssl also read. It is secret.
func (c *SSHCA) MarshalBinary() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.priv)
	if err != nil {
		return nil, errs.E("token.SSHCA.MarshalBinary", errs.Internal, err)
	}
	return der, nil
}

// UnmarshalSSHCA reads what MarshalBinary wrote. It returns an errs.Invalid error for bytes
// that are not a PKCS#8 Ed25519 private key: a stored authority of any other type is refused
// rather than used.
func UnmarshalSSHCA(der []byte) (*SSHCA, error) {
	const op = "token.UnmarshalSSHCA"
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, "the stored SSH certificate authority is not a PKCS#8 key", err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, errs.E(op, errs.Invalid, "the stored SSH certificate authority is not Ed25519")
	}
	return sshCAFromKey(priv)
}
