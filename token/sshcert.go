package token

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/errs"
)

// Limits and names of the SSH user certificates Latch issues.
const (
	// MaxSSHCertValidity is the longest a certificate may be asked for: minutes, not hours, so
	// a removed role stops new logins soon even on a machine that cannot be told.
	MaxSSHCertValidity = time.Hour
	// SSHCertSkew is how far ValidAfter is backdated, so a machine whose clock runs a little
	// behind the token service still accepts a certificate issued a moment ago.
	SSHCertSkew = time.Minute

	// SSHCertExtensionVM binds a certificate to one machine: its value is the VM's resource id.
	// OpenSSH ignores extensions it does not know, so the binding is checked by the agent.
	SSHCertExtensionVM = "latch-vm@latch"
	// SSHCertExtensionTenant carries the tenant id, and SSHCertExtensionObjectID the user's
	// object id, so the agent need not trust the key id for either.
	SSHCertExtensionTenant   = "latch-tenant@latch"
	SSHCertExtensionObjectID = "latch-oid@latch"
	// SSHCertExtensionMethods lists the authentication methods of the sign-in the certificate
	// was issued from (authn method names, comma-separated, sorted), so the machine can check
	// Conditional Access requirements again at login without asking the control plane.
	SSHCertExtensionMethods = "latch-amr@latch"

	// maxSSHField caps every string a request copies into a certificate.
	maxSSHField = 512
	// maxSSHPrincipals caps the principal list; a person logs in as one account.
	maxSSHPrincipals = 8
)

// sshStandardExtensions are what ssh-keygen grants by default minus permit-user-rc: a login
// behaves like a key login (terminal, forwarding for IDEs) without running ~/.ssh/rc, which a
// directory user's fresh account has no reason to need.
var sshStandardExtensions = []string{"permit-pty", "permit-port-forwarding", "permit-agent-forwarding",
	"permit-X11-forwarding"}

// SSHCertRequest is one request for a user certificate, as the token endpoint has it after
// authenticating the user and deciding the grant: the fields are copied into the certificate,
// never interpreted.
type SSHCertRequest struct {
	TenantID string
	UserID   string // the user's object id
	UPN      string
	// KeyID is the request's correlation id; it goes into the certificate's key id, which sshd
	// logs and hands to the principals command, so a login can be traced to its token request.
	KeyID string
	// Principals are the local account names the certificate may log in as (see
	// openssh.LocalName). Never empty: OpenSSH and x/crypto read an empty list as "anyone".
	Principals []string
	// MachineResourceID is the VM the certificate is for (SSHCertExtensionVM).
	MachineResourceID string
	// PublicKeyJWK is the client's public key as the req_cnf JWK (see ParseSSHPublicKeyJWK).
	PublicKeyJWK []byte
	// ValidFor is the lifetime, at most MaxSSHCertValidity.
	ValidFor time.Duration
	// ForceCommand, when set, becomes the force-command critical option. Empty: none.
	ForceCommand string
	// Methods are the authn method names of the sign-in (SSHCertExtensionMethods); the
	// certificate carries them sorted and without duplicates. Empty: the extension is absent.
	Methods []string
	Now     time.Time
}

// IssueSSHCert signs a user certificate for req with ca. The certificate has a random serial,
// the key id SSHKeyID{…}.String(), ValidAfter = Now − SSHCertSkew, ValidBefore = Now +
// ValidFor, the principals exactly as given, the standard permit-* extensions, and the
// machine, tenant and object-id extensions. It returns an errs.Invalid error, with a message
// the client can act on, when the request breaks a rule (missing field, empty or malformed
// principals, lifetime, a JWK that is not an accepted public key), and errs.Internal when
// signing fails.
func IssueSSHCert(ca ssh.Signer, req SSHCertRequest) (*ssh.Certificate, error) {
	const op = "token.IssueSSHCert"
	if ca == nil {
		return nil, errs.E(op, errs.Internal, "no SSH certificate authority for this tenant")
	}
	if err := req.validate(); err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	pub, err := ParseSSHPublicKeyJWK(req.PublicKeyJWK)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	cert, err := req.certificate(pub)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		return nil, errs.E(op, errs.Internal, "signing the SSH certificate failed", err)
	}
	return cert, nil
}

// certificate builds the unsigned certificate for pub.
func (req SSHCertRequest) certificate(pub ssh.PublicKey) (*ssh.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ext := make(map[string]string, len(sshStandardExtensions)+3)
	for _, e := range sshStandardExtensions {
		ext[e] = ""
	}
	ext[SSHCertExtensionVM] = req.MachineResourceID
	ext[SSHCertExtensionTenant] = req.TenantID
	ext[SSHCertExtensionObjectID] = req.UserID
	if m := sortedMethods(req.Methods); m != "" {
		ext[SSHCertExtensionMethods] = m
	}
	crit := map[string]string{}
	if req.ForceCommand != "" {
		crit["force-command"] = req.ForceCommand
	}
	keyID := SSHKeyID{CorrelationID: req.KeyID, TenantID: req.TenantID, ObjectID: req.UserID, UPN: req.UPN}
	return &ssh.Certificate{
		Key:             pub,
		Serial:          serial,
		CertType:        ssh.UserCert,
		KeyId:           keyID.String(),
		ValidPrincipals: slices.Clone(req.Principals),
		ValidAfter:      uint64(req.Now.Add(-SSHCertSkew).Unix()),
		ValidBefore:     uint64(req.Now.Add(req.ValidFor).Unix()),
		Permissions:     ssh.Permissions{CriticalOptions: crit, Extensions: ext},
	}, nil
}

// randomSerial is a non-zero random serial: unique enough that a revocation list can name
// one certificate, and unguessable so serials reveal nothing about issuance volume.
func randomSerial() (uint64, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		if s := binary.BigEndian.Uint64(b[:]); s != 0 {
			return s, nil
		}
	}
}

// validate reports the first rule req breaks, in words for the client.
func (req SSHCertRequest) validate() error {
	for _, f := range []struct{ name, v string }{{"tenant id", req.TenantID}, {"user id", req.UserID},
		{"UPN", req.UPN}, {"key id", req.KeyID}, {"machine resource id", req.MachineResourceID}} {
		if err := checkSSHField(f.name, f.v, true); err != nil {
			return err
		}
	}
	if err := checkPrincipals(req.Principals); err != nil {
		return err
	}
	switch {
	case req.Now.IsZero():
		return fmt.Errorf("no issuance time")
	case req.ValidFor <= 0:
		return fmt.Errorf("the certificate lifetime must be positive")
	case req.ValidFor > MaxSSHCertValidity:
		return fmt.Errorf("an SSH certificate may be valid for at most %v, not %v", MaxSSHCertValidity, req.ValidFor)
	case len(strings.Join(req.Methods, ",")) > maxSSHField:
		return fmt.Errorf("the method list is longer than %d bytes", maxSSHField)
	case len(req.ForceCommand) > maxSSHField || strings.ContainsAny(req.ForceCommand, "\x00\n\r"):
		return fmt.Errorf("the forced command is too long or holds a line break")
	}
	return nil
}

// checkPrincipals refuses an empty list, duplicates, and names OpenSSH would read differently
// from how they were meant: blanks, commas (principal lists are comma-separated in
// authorized_keys) and control characters.
func checkPrincipals(ps []string) error {
	if len(ps) == 0 {
		return fmt.Errorf("an SSH certificate needs at least one principal")
	}
	if len(ps) > maxSSHPrincipals {
		return fmt.Errorf("at most %d principals", maxSSHPrincipals)
	}
	for i, p := range ps {
		if err := checkSSHField("principal", p, false); err != nil {
			return err
		}
		if slices.Contains(ps[:i], p) {
			return fmt.Errorf("principal %q is listed twice", p)
		}
	}
	return nil
}

// checkSSHField accepts a non-empty, bounded string of printable ASCII without blanks or
// commas. idField also refuses '=', which separates names from values in the key id.
func checkSSHField(name, v string, idField bool) error {
	if v == "" {
		return fmt.Errorf("the %s is missing", name)
	}
	if len(v) > maxSSHField {
		return fmt.Errorf("the %s is longer than %d bytes", name, maxSSHField)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == ',' || (idField && c == '=') {
			return fmt.Errorf("the %s holds a character that is not allowed (%q)", name, c)
		}
	}
	return nil
}

// sortedMethods is the SSHCertExtensionMethods value: the names sorted, duplicates and
// names OpenSSH could misread (blanks, commas, control characters) left out.
func sortedMethods(methods []string) string {
	var keep []string
	for _, m := range methods {
		if checkSSHField("method", m, true) == nil {
			keep = append(keep, m)
		}
	}
	slices.Sort(keep)
	return strings.Join(slices.Compact(keep), ",")
}
