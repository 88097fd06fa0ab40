package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshLoginScope is the Linux VM sign-in application's scope, the one az asks SSH
// certificates for.
const sshLoginScope = "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0/.default"

// sshKeyName is the ephemeral key's file name in <config dir>/ssh; the certificate goes beside
// it as sshKeyName + "-cert.pub", where OpenSSH looks for it by itself.
const sshKeyName = "id_ed25519"

// sshCredential is what "latch ssh cert" leaves on disk and prints.
type sshCredential struct {
	PrivateKeyFile  string   `json:"privateKeyFile"`
	CertificateFile string   `json:"certificateFile"`
	Principals      []string `json:"principals"`
	ValidBefore     string   `json:"validBefore"`
	VMID            string   `json:"vmId"`
	// KnownHostsFile pins the VM's host keys under its name; "" when it reported none.
	KnownHostsFile string `json:"knownHostsFile,omitempty"`
	// HostName is the address ssh connects to when the VM's name does not resolve.
	HostName  string `json:"hostName,omitempty"`
	addresses []string
	cert      *ssh.Certificate
}

// user is the local account the certificate logs in as: its one principal.
func (c *sshCredential) user() string { return c.Principals[0] }

// sshCertificate makes a new key pair, gets a certificate for it and the VM from the token
// service, and writes both: the key to <config dir>/ssh/<group>/<vm>/id_ed25519 (0600; one key
// per VM, so renewing one VM's certificate leaves the others' entries working), the
// certificate beside it or to certFile when that is not "".
func (a *app) sshCertificate(ctx context.Context, sub, rg, name, certFile string) (*sshCredential, error) {
	c, err := a.arm(ctx, sub)
	if err != nil {
		return nil, err
	}
	// The VM is named, not read: a person with only a login role may not read it, and the
	// token service says why when it refuses (the names were checked by checkSSHName).
	vmID := c.vmPath(rg, name)
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, failf("cannot make a key pair: %v", err)
	}
	cert, host, err := s.requestSSHCert(ctx, pub, vmID)
	if err != nil {
		return nil, err
	}
	cred, err := writeSSHCredential(filepath.Join(s.dir, "ssh", strings.ToLower(rg), strings.ToLower(name)), certFile, priv, cert, vmID)
	if err != nil {
		return nil, err
	}
	return cred, cred.pinHost(name, host)
}

// requestSSHCert asks the token service for a certificate of pub for vmID with the cached
// refresh token, and keeps the rotated refresh token. The certificate itself is not cached:
// each command gets a fresh one for a fresh key. The VM's host keys come with it.
func (s *session) requestSSHCert(ctx context.Context, pub ed25519.PublicKey, vmID string) (*ssh.Certificate, sshHost, error) {
	if s.prof.User.Type == "servicePrincipal" {
		return nil, sshHost{}, failf("SSH certificates are issued to people; sign in with 'latch login' as a user.")
	}
	unlock, err := lockState(s.dir)
	if err != nil {
		return nil, sshHost{}, err
	}
	defer unlock()
	cache, err := loadTokens(s.dir)
	if err != nil {
		return nil, sshHost{}, err
	}
	if cache.RefreshToken == "" {
		return nil, sshHost{}, failf("There is no refresh token in the token cache. To re-authenticate, please run:\nlatch login")
	}
	jwk, _ := json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)})
	tr, err := s.c.requestToken(ctx, s.prof.TokenEndpoint, url.Values{"client_id": {cliClientID},
		"grant_type": {"refresh_token"}, "refresh_token": {cache.RefreshToken}, "scope": {sshLoginScope + " " + oidcScopes},
		"token_type": {"ssh-cert"}, "req_cnf": {string(jwk)}, "vm_id": {vmID}})
	if err != nil {
		return nil, sshHost{}, err
	}
	if tr.RefreshToken != "" {
		cache.RefreshToken = tr.RefreshToken
		if err := saveTokens(s.dir, cache); err != nil {
			return nil, sshHost{}, err
		}
	}
	cert, err := parseSSHCert(tr, pub)
	return cert, hostFromToken(tr), err
}

// parseSSHCert reads the certificate from a token response and checks that it is a user
// certificate for pub with at least one principal, so nothing else is ever written or used.
func parseSSHCert(tr *tokenResponse, pub ed25519.PublicKey) (*ssh.Certificate, error) {
	wire, err := base64.StdEncoding.DecodeString(tr.AccessToken)
	if tr.TokenType != "ssh-cert" || err != nil {
		return nil, failf("the token service did not answer with an SSH certificate (token_type %q).", tr.TokenType)
	}
	k, err := ssh.ParsePublicKey(wire)
	cert, ok := k.(*ssh.Certificate)
	if err != nil || !ok {
		return nil, failf("the token service's SSH certificate cannot be read.")
	}
	want, err := ssh.NewPublicKey(pub)
	if err != nil || cert.CertType != ssh.UserCert || len(cert.ValidPrincipals) == 0 ||
		string(cert.Key.Marshal()) != string(want.Marshal()) {
		return nil, failf("the token service's SSH certificate is not a user certificate for this key.")
	}
	return cert, nil
}

// writeSSHCredential writes the private key as dir/id_ed25519 and the certificate to
// certFile, or beside the key when certFile is "".
func writeSSHCredential(dir, certFile string, priv ed25519.PrivateKey, cert *ssh.Certificate, vmID string) (*sshCredential, error) {
	block, err := ssh.MarshalPrivateKey(priv, "latch ssh")
	if err != nil {
		return nil, failf("cannot encode the key: %v", err)
	}
	keyFile := filepath.Join(dir, sshKeyName)
	if err := writeFileAtomic(dir, sshKeyName, pem.EncodeToMemory(block)); err != nil {
		return nil, err
	}
	if certFile == "" {
		certFile = keyFile + "-cert.pub"
	}
	certFile, err = filepath.Abs(certFile)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Dir(certFile), filepath.Base(certFile), ssh.MarshalAuthorizedKey(cert)); err != nil {
		return nil, err
	}
	return &sshCredential{PrivateKeyFile: keyFile, CertificateFile: certFile, Principals: cert.ValidPrincipals,
		ValidBefore: time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339), VMID: vmID, cert: cert}, nil
}

// sshConfigEntry is an OpenSSH Host block for the VM, by its name: the host key is checked
// against known_hosts under that name, which an address would not keep stable.
func sshConfigEntry(name string, c *sshCredential) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Host %s\n", name)
	fmt.Fprintf(&b, "\tUser %s\n", c.user())
	fmt.Fprintf(&b, "\tCertificateFile \"%s\"\n", c.CertificateFile)
	fmt.Fprintf(&b, "\tIdentityFile \"%s\"\n", c.PrivateKeyFile)
	fmt.Fprintf(&b, "\tIdentitiesOnly yes\n")
	b.WriteString(c.hostConfigLines(name))
	return b.String()
}
