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

	"golang.org/x/crypto/ssh"
)

// sshLoginScope is the Linux VM sign-in application's scope, the one az asks SSH
// certificates for.
const sshLoginScope = "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0/.default"

// sshKeyName is the key's file name in its slot of <config dir>/ssh; the certificate goes beside
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
	slotDir   string // the cache slot it was saved in or loaded from (ssh_cache.go)
}

// user is the local account the certificate logs in as: its one principal.
func (c *sshCredential) user() string { return c.Principals[0] }

// sshCertificate returns a key and certificate for the VM: the cached ones of the signed-in
// account for this VM while they stay valid (ssh_cache.go), unless fresh; otherwise a new key
// pair certified by the token service, kept in the VM's slot of <config dir>/ssh (0700, files
// 0600). When certFile is not "" the certificate is also written there. Nothing here needs the
// resource manager: the VM is named, not read, so a reused certificate costs no request.
func (a *app) sshCertificate(ctx context.Context, sub, rg, name, certFile string, fresh bool) (*sshCredential, error) {
	dir, err := a.configDir()
	if err != nil {
		return nil, err
	}
	prof, err := loadProfile(dir)
	if err != nil {
		return nil, err
	}
	// No HTTP client yet: making one reads the system's CA certificates, which took about
	// 10 ms a run here, and a reused certificate needs no request.
	s := &session{a: a, dir: dir, prof: prof}
	chosen, err := s.prof.pick(sub)
	if err != nil {
		return nil, err
	}
	// A person with only a login role may not read the VM; the token service says why when
	// it refuses (the names were checked by checkSSHName).
	slot := s.sshSlotFor(rg, name, vmIDIn(chosen.ID, rg, name))
	cred, err := a.cachedSSHCredential(slot, fresh)
	if cred == nil {
		cred, err = s.issueSSHCredential(ctx, slot)
	}
	if err != nil || certFile == "" {
		return cred, err
	}
	return cred, cred.copyCertTo(certFile)
}

// cachedSSHCredential is the slot's credential when it may be reused, else nil (the reason
// goes to --debug).
func (a *app) cachedSSHCredential(slot sshSlot, fresh bool) (*sshCredential, error) {
	if fresh {
		return nil, nil
	}
	cred, err := slot.load(a.now())
	if err != nil {
		a.debugf("Not reusing the cached SSH certificate: %v", err)
		return nil, nil
	}
	a.debugf("Reusing the cached SSH certificate, valid until %s.", cred.ValidBefore)
	return cred, nil
}

// issueSSHCredential makes a new key pair, has the token service certify it for the slot's
// VM and keeps both in the slot.
func (s *session) issueSSHCredential(ctx context.Context, slot sshSlot) (*sshCredential, error) {
	c, err := s.a.newClient(s.prof.CAFile)
	if err != nil {
		return nil, err
	}
	s.c = c
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, failf("cannot make a key pair: %v", err)
	}
	var (
		cert *ssh.Certificate
		host sshHost
	)
	// Outside the state lock: a step-up's sign-in saves the new tokens under it.
	err = s.withStepUp(ctx, func() (err error) {
		cert, host, err = s.requestSSHCert(ctx, pub, slot.want.VMID)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Two commands issuing for one VM at once must not leave one's key beside the other's
	// certificate.
	unlock, err := lockState(s.dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return slot.save(priv, cert, host)
}

// vmIDIn is the VM's resource id in subscription subID.
func vmIDIn(subID, rg, name string) string { return (&arm{sub: subID}).vmPath(rg, name) }

// copyCertTo writes the certificate to file as well and names it in c.
func (c *sshCredential) copyCertTo(file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Dir(abs), filepath.Base(abs), ssh.MarshalAuthorizedKey(c.cert)); err != nil {
		return err
	}
	c.CertificateFile = abs
	return nil
}

// requestSSHCert asks the token service for a certificate of pub for vmID with the cached
// refresh token, and keeps the rotated refresh token. The VM's host keys come with it.
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
	form := url.Values{"client_id": {cliClientID},
		"grant_type": {"refresh_token"}, "refresh_token": {cache.RefreshToken}, "scope": {sshLoginScope + " " + oidcScopes},
		"token_type": {"ssh-cert"}, "req_cnf": {string(jwk)}, "vm_id": {vmID}}
	tr, err := requestWithHostConsent(ctx, form, vmID, func(f url.Values) (*tokenResponse, error) { // ssh_hostconsent.go
		return s.c.requestToken(ctx, s.prof.TokenEndpoint, f)
	})
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

// writeSSHCredential writes the private key as dir/id_ed25519 and the certificate beside it.
func writeSSHCredential(dir string, priv ed25519.PrivateKey, cert *ssh.Certificate, vmID string) (*sshCredential, error) {
	block, err := ssh.MarshalPrivateKey(priv, "latch ssh")
	if err != nil {
		return nil, failf("cannot encode the key: %v", err)
	}
	keyFile := filepath.Join(dir, sshKeyName)
	if err := writeFileAtomic(dir, sshKeyName, pem.EncodeToMemory(block)); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(dir, sshKeyName+"-cert.pub", ssh.MarshalAuthorizedKey(cert)); err != nil {
		return nil, err
	}
	return &sshCredential{PrivateKeyFile: keyFile, CertificateFile: keyFile + "-cert.pub", Principals: cert.ValidPrincipals,
		ValidBefore: validBefore(cert), VMID: vmID, cert: cert}, nil
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
