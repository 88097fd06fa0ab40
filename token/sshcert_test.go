package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/errs"
)

const (
	sshTenant = "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"
	sshUser   = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	sshVM     = "/subscriptions/1f2e3d4c-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
)

var sshNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testJWK is the canonical JWK of a fresh Ed25519 key.
func testJWK(t testing.TB) []byte {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	j, err := SSHPublicKeyJWK(pub)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func okSSHRequest(t testing.TB) SSHCertRequest {
	return SSHCertRequest{TenantID: sshTenant, UserID: sshUser, UPN: "alice@contoso.test",
		KeyID: "6b1f0e3a-2c4d-4e5f-8a9b-0c1d2e3f4a5b", Principals: []string{"alice@contoso.test"},
		MachineResourceID: sshVM, PublicKeyJWK: testJWK(t), ValidFor: 5 * time.Minute, Now: sshNow}
}

func newTestCA(t testing.TB) *SSHCA {
	t.Helper()
	ca, err := NewSSHCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestIssueSSHCertRefusals(t *testing.T) {
	ca := newTestCA(t)
	cases := []struct {
		name   string
		change func(*SSHCertRequest)
		want   string
	}{
		{"fail/no-principals", func(r *SSHCertRequest) { r.Principals = nil }, "at least one principal"},
		{"fail/empty-principal-list", func(r *SSHCertRequest) { r.Principals = []string{} }, "at least one principal"},
		{"fail/blank-principal", func(r *SSHCertRequest) { r.Principals = []string{""} }, "principal is missing"},
		{"fail/principal-with-comma", func(r *SSHCertRequest) { r.Principals = []string{"alice,root"} }, "not allowed"},
		{"fail/principal-with-space", func(r *SSHCertRequest) { r.Principals = []string{"alice root"} }, "not allowed"},
		{"fail/principal-with-newline", func(r *SSHCertRequest) { r.Principals = []string{"alice\nroot"} }, "not allowed"},
		{"fail/principal-twice", func(r *SSHCertRequest) { r.Principals = []string{"a@b", "a@b"} }, "twice"},
		{"fail/too-many-principals", func(r *SSHCertRequest) { r.Principals = strings.Split("a,b,c,d,e,f,g,h,i", ",") }, "at most"},
		{"fail/longer-than-an-hour", func(r *SSHCertRequest) { r.ValidFor = time.Hour + time.Second }, "at most 1h0m0s"},
		{"fail/zero-lifetime", func(r *SSHCertRequest) { r.ValidFor = 0 }, "positive"},
		{"fail/negative-lifetime", func(r *SSHCertRequest) { r.ValidFor = -time.Minute }, "positive"},
		{"fail/no-clock", func(r *SSHCertRequest) { r.Now = time.Time{} }, "issuance time"},
		{"fail/no-tenant", func(r *SSHCertRequest) { r.TenantID = "" }, "tenant id is missing"},
		{"fail/no-user", func(r *SSHCertRequest) { r.UserID = "" }, "user id is missing"},
		{"fail/no-upn", func(r *SSHCertRequest) { r.UPN = "" }, "UPN is missing"},
		{"fail/no-correlation", func(r *SSHCertRequest) { r.KeyID = "" }, "key id is missing"},
		{"fail/key-id-injection", func(r *SSHCertRequest) { r.KeyID = "x,upn=root@x" }, "not allowed"},
		{"fail/upn-with-equals", func(r *SSHCertRequest) { r.UPN = "a=b@c" }, "not allowed"},
		{"fail/no-machine", func(r *SSHCertRequest) { r.MachineResourceID = "" }, "machine resource id is missing"},
		{"fail/machine-too-long", func(r *SSHCertRequest) { r.MachineResourceID = strings.Repeat("a", 513) }, "longer"},
		{"fail/force-command-newline", func(r *SSHCertRequest) { r.ForceCommand = "true\nrm" }, "line break"},
		{"fail/no-key", func(r *SSHCertRequest) { r.PublicKeyJWK = nil }, "no public key"},
		{"fail/private-key", func(r *SSHCertRequest) {
			r.PublicKeyJWK = []byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`)
		}, "private member"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := okSSHRequest(t)
			tc.change(&req)
			cert, err := IssueSSHCert(ca.Signer(), req)
			if err == nil {
				t.Fatalf("issued %+v", cert)
			}
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want Invalid containing %q", err, tc.want)
			}
		})
	}
	t.Run("fail/no-ca", func(t *testing.T) {
		if _, err := IssueSSHCert(nil, okSSHRequest(t)); err == nil {
			t.Fatal("issued without a CA")
		}
	})
}

func TestIssueSSHCertContents(t *testing.T) {
	ca := newTestCA(t)
	req := okSSHRequest(t)
	cert, err := IssueSSHCert(ca.Signer(), req)
	if err != nil {
		t.Fatal(err)
	}
	if cert.CertType != ssh.UserCert || cert.Serial == 0 {
		t.Fatalf("type %d serial %d", cert.CertType, cert.Serial)
	}
	if got := time.Unix(int64(cert.ValidAfter), 0); !got.Equal(sshNow.Add(-SSHCertSkew)) {
		t.Errorf("ValidAfter %v", got)
	}
	if got := time.Unix(int64(cert.ValidBefore), 0); !got.Equal(sshNow.Add(5 * time.Minute)) {
		t.Errorf("ValidBefore %v", got)
	}
	if len(cert.ValidPrincipals) != 1 || cert.ValidPrincipals[0] != "alice@contoso.test" {
		t.Errorf("principals %q", cert.ValidPrincipals)
	}
	if len(cert.CriticalOptions) != 0 {
		t.Errorf("critical options %v, want none (no force-command unless asked)", cert.CriticalOptions)
	}
	wantExt := map[string]string{"permit-pty": "", "permit-port-forwarding": "", "permit-agent-forwarding": "",
		"permit-X11-forwarding": "", SSHCertExtensionVM: sshVM, SSHCertExtensionTenant: sshTenant, SSHCertExtensionObjectID: sshUser}
	if len(cert.Extensions) != len(wantExt) {
		t.Errorf("extensions %v", cert.Extensions)
	}
	for k, v := range wantExt {
		if got, ok := cert.Extensions[k]; !ok || got != v {
			t.Errorf("extension %s = %q, want %q", k, got, v)
		}
	}
	id, err := ParseSSHKeyID(cert.KeyId)
	if err != nil || id != (SSHKeyID{CorrelationID: req.KeyID, TenantID: sshTenant, ObjectID: sshUser, UPN: req.UPN}) {
		t.Errorf("key id %q: %+v %v", cert.KeyId, id, err)
	}
	checkSignedBy(t, cert, ca.PublicKey())
}

// checkSignedBy verifies cert's signature and fields the way an SSH server would.
func checkSignedBy(t *testing.T, cert *ssh.Certificate, ca ssh.PublicKey) {
	t.Helper()
	checker := ssh.CertChecker{
		IsUserAuthority: func(k ssh.PublicKey) bool { return bytes.Equal(k.Marshal(), ca.Marshal()) },
		Clock:           func() time.Time { return sshNow },
	}
	if err := checker.CheckCert(cert.ValidPrincipals[0], cert); err != nil {
		t.Fatalf("x/crypto refuses the certificate: %v", err)
	}
	// The wire form must survive a round trip: that is what sshd reads.
	parsed, err := ssh.ParsePublicKey(cert.Marshal())
	if err != nil || !bytes.Equal(parsed.Marshal(), cert.Marshal()) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestIssueSSHCertForceCommandOnlyWhenAsked(t *testing.T) {
	ca := newTestCA(t)
	req := okSSHRequest(t)
	req.ForceCommand = "/usr/bin/true"
	cert, err := IssueSSHCert(ca.Signer(), req)
	if err != nil {
		t.Fatal(err)
	}
	if cert.CriticalOptions["force-command"] != "/usr/bin/true" || len(cert.CriticalOptions) != 1 {
		t.Fatalf("critical options %v", cert.CriticalOptions)
	}
}

func TestIssueSSHCertSerialsDiffer(t *testing.T) {
	ca := newTestCA(t)
	req := okSSHRequest(t)
	seen := map[uint64]bool{}
	for range 200 {
		cert, err := IssueSSHCert(ca.Signer(), req)
		if err != nil {
			t.Fatal(err)
		}
		if seen[cert.Serial] {
			t.Fatalf("serial %d issued twice", cert.Serial)
		}
		seen[cert.Serial] = true
	}
}

func TestIssueSSHCertKeyTypes(t *testing.T) {
	ca := newTestCA(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, pub := range map[string]any{"ok/rsa-2048": &rsaKey.PublicKey, "ok/p-256": &p256.PublicKey, "ok/p-384": &p384.PublicKey} {
		t.Run(name, func(t *testing.T) {
			req := okSSHRequest(t)
			var err error
			if req.PublicKeyJWK, err = SSHPublicKeyJWK(pub); err != nil {
				t.Fatal(err)
			}
			cert, err := IssueSSHCert(ca.Signer(), req)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ssh.NewPublicKey(pub)
			if !bytes.Equal(cert.Key.Marshal(), want.Marshal()) {
				t.Fatal("the certificate certifies another key")
			}
			checkSignedBy(t, cert, ca.PublicKey())
		})
	}
}

func TestSSHCAStorageRoundTrip(t *testing.T) {
	ca := newTestCA(t)
	der, err := ca.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSSHCA(der)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.PublicKey().Marshal(), ca.PublicKey().Marshal()) {
		t.Fatal("a stored authority came back with another key")
	}
	line := ca.AuthorizedKeyLine()
	pub, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil || len(rest) != 0 || strings.Contains(line, "\n") || !bytes.Equal(pub.Marshal(), ca.PublicKey().Marshal()) {
		t.Fatalf("AuthorizedKeyLine %q: %v", line, err)
	}
	// A certificate signed by the restored authority verifies against the original's key.
	cert, err := IssueSSHCert(back.Signer(), okSSHRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	checkSignedBy(t, cert, ca.PublicKey())
}

func TestUnmarshalSSHCARefusals(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, der := range map[string][]byte{"fail/empty": nil, "fail/garbage": []byte("not a key"), "fail/ecdsa-key": ecDER} {
		t.Run(name, func(t *testing.T) {
			if _, err := UnmarshalSSHCA(der); !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v, want Invalid", err)
			}
		})
	}
}

func TestParseSSHKeyIDRefusals(t *testing.T) {
	for _, s := range []string{"", "corr=a", "corr=a,tid=b,oid=c", "corr=a,tid=b,oid=c,upn=d,x=e",
		"tid=b,corr=a,oid=c,upn=d", "corr=,tid=b,oid=c,upn=d", "corr=a,tid=b,oid=c,upn=d e", "corr=a,tid=b,oid=c,upn=d=e",
		strings.Repeat("x", 5000)} {
		if k, err := ParseSSHKeyID(s); err == nil {
			t.Errorf("fail/%q accepted as %+v", s, k)
		}
	}
}

func b64b(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
