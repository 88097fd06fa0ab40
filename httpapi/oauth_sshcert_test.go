package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/testenv"
	"github.com/latchsh/latch/token"
)

const sshScope = "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0/.default"

// sshFixture is an armFixture with a VM in group "rg" and a user for each way in.
type sshFixture struct {
	*armFixture
	vm, otherVM string // ARM ids: contoso's VM, and one in fabrikam's subscription
	jwk         string
	pub         ed25519.PublicKey
}

func newSSHFixture(t *testing.T) *sshFixture {
	t.Helper()
	f := &sshFixture{armFixture: newARMFixture(t)}
	if err := f.Store.CreateServicePrincipal(context.Background(), directory.ServicePrincipal{ID: uuid.NewString(),
		TenantID: f.Tenant.ID, AppID: directory.AzureCLIAppID, DisplayName: "Microsoft Azure CLI", PublicClient: true,
		Type: directory.SPApplication, AccountEnabled: true, ServicePrincipalNames: []string{directory.AzureCLIAppID}}); err != nil {
		t.Fatal(err)
	}
	f.mkRG(t, "rg")
	f.mkVM(t, "rg", "vm1")
	f.vm = f.vmPath("rg", "vm1")
	f.otherVM = "/subscriptions/" + f.otherSub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.pub = pub
	f.jwk = `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	return f
}

// refreshToken stores a refresh token of the Azure CLI for u, as a sign-in would leave it.
func (f *sshFixture) refreshToken(t *testing.T, u directory.User) string {
	t.Helper()
	raw := uuid.NewString() + uuid.NewString()
	sum := sha256.Sum256([]byte(raw))
	now := time.Now()
	if err := f.Store.CreateRefreshToken(context.Background(), token.RefreshToken{
		Hash: base64.RawURLEncoding.EncodeToString(sum[:]), FamilyID: uuid.NewString(), TenantID: u.TenantID,
		ClientID: directory.AzureCLIAppID, UserID: u.ID, Scope: f.ARMAudience() + ".default offline_access",
		AMR: []string{"pwd"}, AuthTime: now, Status: token.RefreshActive, Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return raw
}

// sshForm is an ssh-cert request with refresh token rt for vm; edit changes it.
func (f *sshFixture) sshForm(rt, vm string, edit ...func(url.Values)) url.Values {
	v := url.Values{"grant_type": {"refresh_token"}, "client_id": {directory.AzureCLIAppID}, "refresh_token": {rt},
		"scope": {sshScope}, "token_type": {"ssh-cert"}, "req_cnf": {f.jwk}, "vm_id": {vm}, "host_consent": {vm}}
	for _, e := range edit {
		e(v)
	}
	return v
}

func (f *sshFixture) post(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := f.Client.PostForm(f.URL+"/"+f.Tenant.ID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("status %d: not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

func TestSSHCertRefused(t *testing.T) {
	f := newSSHFixture(t)
	f.assign(t, f.vm, f.alice.ID, access.VMUserLoginRoleID)
	f.assign(t, f.vm, f.carol.ID, access.OwnerRoleID)
	f.assign(t, f.vm, f.bob.ID, access.VMUserLoginRoleID)
	f.disable(t, f.bob)
	set := func(k, v string) func(url.Values) { return func(u url.Values) { u.Set(k, v) } }
	cases := []struct {
		name, code, msg string
		user            directory.User
		vm              string
		edit            []func(url.Values)
	}{
		{"fail/no-role", "access_denied", "Your account is configured to prevent you from using this device.", f.dave, f.vm, nil},
		{"fail/owner-without-login-role", "access_denied", "Virtual Machine User Login", f.carol, f.vm, nil},
		{"fail/disabled-user", "invalid_grant", "disabled", f.bob, f.vm, nil},
		{"fail/unknown-vm", "invalid_request", "was not found", f.alice, f.vmPath("rg", "nope"), nil},
		{"fail/other-tenants-vm", "invalid_request", "was not found", f.alice, f.otherVM, nil},
		{"fail/resource-group-not-vm", "invalid_request", "was not found", f.alice, f.rgPath("rg"), nil},
		{"fail/no-vm-id", "invalid_request", "vm_id", f.alice, "", nil},
		{"fail/garbage-vm-id", "invalid_request", "vm_id", f.alice, "not an id", nil},
		{"fail/empty-req-cnf", "invalid_request", "req_cnf", f.alice, f.vm, []func(url.Values){set("req_cnf", "")}},
		{"fail/garbage-req-cnf", "invalid_request", "req_cnf", f.alice, f.vm, []func(url.Values){set("req_cnf", "{{not json")}},
		{"fail/private-key-jwk", "invalid_request", "private", f.alice, f.vm, []func(url.Values){set("req_cnf",
			`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`)}},
		{"fail/small-rsa-jwk", "invalid_request", "req_cnf", f.alice, f.vm, []func(url.Values){set("req_cnf", `{"kty":"RSA","n":"AQAB","e":"AQAB"}`)}},
		{"fail/other-scope", "invalid_scope", "only for the scope", f.alice, f.vm, []func(url.Values){set("scope", f.ARMAudience()+".default")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt := f.refreshToken(t, c.user)
			st, m := f.post(t, f.sshForm(rt, c.vm, c.edit...))
			if st != 400 || m["error"] != c.code || !strings.Contains(m["error_description"].(string), c.msg) {
				t.Fatalf("got %d %v %q, want 400 %s containing %q", st, m["error"], m["error_description"], c.code, c.msg)
			}
			if m["access_token"] != nil {
				t.Fatal("a refusal carried a token")
			}
		})
	}
}

// disable turns u's account off, as an administrator would.
func (f *sshFixture) disable(t *testing.T, u directory.User) {
	t.Helper()
	if _, err := f.Store.UpdateUser(context.Background(), u.TenantID, u.ID, func(u directory.User) (directory.User, error) {
		u.AccountEnabled = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSSHCertRefusalKeepsRefreshToken(t *testing.T) {
	f := newSSHFixture(t)
	rt := f.refreshToken(t, f.alice)
	if st, m := f.post(t, f.sshForm(rt, f.vm)); st != 400 || m["error"] != "access_denied" {
		t.Fatalf("without a role: %d %v", st, m)
	}
	f.assign(t, f.vm, f.alice.ID, access.VMUserLoginRoleID)
	if st, m := f.post(t, f.sshForm(rt, f.vm)); st != 200 || m["token_type"] != "ssh-cert" {
		t.Fatalf("the refusal used up the refresh token: %d %v", st, m)
	}
}

func TestSSHCertIssued(t *testing.T) {
	for _, c := range []struct{ name, role, scope string }{
		{"ok/user-login", access.VMUserLoginRoleID, sshScope},
		{"ok/admin-login-uri-scope", access.VMAdministratorLoginRoleID, "https://pas.windows.net/CheckMyAccess/Linux/.default"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newSSHFixture(t)
			f.assign(t, f.rgPath("rg"), f.alice.ID, c.role)
			before := time.Now()
			st, m := f.post(t, f.sshForm(f.refreshToken(t, f.alice), f.vm, func(v url.Values) { v.Set("scope", c.scope) }))
			if st != 200 || m["token_type"] != "ssh-cert" || m["refresh_token"] == nil {
				t.Fatalf("got %d %v", st, m)
			}
			cert := parseCert(t, m["access_token"].(string))
			checkCert(t, cert, f.pub, f.vm, before, "alice@contoso.test")
			ca := f.sshCAKey(t, f.Tenant.ID)
			if !bytesEqual(cert.SignatureKey.Marshal(), ca.Marshal()) {
				t.Fatal("the certificate is not signed by the tenant's CA as served")
			}
			if f.sshCAKey(t, f.otherTenantID(t)).Marshal() == nil || bytesEqual(f.sshCAKey(t, f.otherTenantID(t)).Marshal(), ca.Marshal()) {
				t.Fatal("two tenants share an SSH CA")
			}
		})
	}
}

func parseCert(t *testing.T, b64 string) *ssh.Certificate {
	t.Helper()
	wire, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("access_token is not base64: %v", err)
	}
	k, err := ssh.ParsePublicKey(wire)
	if err != nil {
		t.Fatal(err)
	}
	cert, ok := k.(*ssh.Certificate)
	if !ok {
		t.Fatalf("access_token is a %T, not a certificate", k)
	}
	return cert
}

func checkCert(t *testing.T, cert *ssh.Certificate, pub ed25519.PublicKey, vm string, before time.Time, upn string) {
	t.Helper()
	want, _ := ssh.NewPublicKey(pub)
	if cert.CertType != ssh.UserCert || !bytesEqual(cert.Key.Marshal(), want.Marshal()) {
		t.Fatalf("type %d, key %s", cert.CertType, ssh.FingerprintSHA256(cert.Key))
	}
	if len(cert.ValidPrincipals) != 1 || cert.ValidPrincipals[0] != upn {
		t.Fatalf("principals %q", cert.ValidPrincipals)
	}
	life := time.Unix(int64(cert.ValidBefore), 0).Sub(before)
	if life < 9*time.Minute || life > 11*time.Minute {
		t.Fatalf("valid for %v after issuance, want about 10 minutes", life)
	}
	if !strings.EqualFold(cert.Extensions[token.SSHCertExtensionVM], vm) || cert.Extensions["permit-pty"] != "" {
		t.Fatalf("extensions %v", cert.Extensions)
	}
	if !strings.Contains(cert.KeyId, upn) {
		t.Fatalf("key id %q", cert.KeyId)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// sshCAKey fetches a tenant's CA public key from the public endpoint.
func (f *sshFixture) sshCAKey(t *testing.T, tenantID string) ssh.PublicKey {
	t.Helper()
	resp, err := f.Client.Get(f.URL + "/" + tenantID + "/ssh/ca")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET ssh/ca: %d %s", resp.StatusCode, body)
	}
	k, _, _, rest, err := ssh.ParseAuthorizedKey(body)
	if err != nil || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("GET ssh/ca: %q is not one authorized key line (%v)", body, err)
	}
	return k
}

func (f *sshFixture) otherTenantID(t *testing.T) string { return f.other.TenantID }

func TestSSHCAEndpoint(t *testing.T) {
	f := newSSHFixture(t)
	a, b := f.sshCAKey(t, f.Tenant.ID), f.sshCAKey(t, "contoso.test")
	if !bytesEqual(a.Marshal(), b.Marshal()) || a.Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("the CA changed between requests or is %s", a.Type())
	}
	resp, err := f.Client.Get(f.URL + "/00000000-0000-0000-0000-00000000dead/ssh/ca")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("an unknown tenant got an SSH CA")
	}
}

// TestSSHCertFromDeviceCode signs in with a device code and redeems it for a certificate
// straight away, as a machine without a browser would; the refresh token comes with it.
func TestSSHCertFromDeviceCode(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := newUser(t, srv, "erin", "correct horse battery staple")
	vm := sshVMInStore(t, srv)
	grant := func(role string) {
		if err := srv.Store.CreateRoleAssignment(context.Background(), resource.RoleAssignment{TenantID: srv.TenantID,
			Assignment: access.RoleAssignment{ID: uuid.NewString(), Scope: vm, RoleDefinitionID: role,
				PrincipalID: u.ID, PrincipalType: access.PrincipalUser}}); err != nil {
			t.Fatal(err)
		}
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	jwk := `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	redeem := func() (int, map[string]any) {
		dc := sshDeviceCode(t, srv, sshScope+" offline_access openid")
		approveDevice(t, srv, dc.UserCode, u.UserPrincipalName, "correct horse battery staple")
		return tokenCall(t, srv, url.Values{"grant_type": {grantDevice}, "client_id": {cli}, "device_code": {dc.DeviceCode},
			"token_type": {"ssh-cert"}, "req_cnf": {jwk}, "vm_id": {vm}, "host_consent": {vm}})
	}
	if st, m := redeem(); st != 400 || m["error"] != "access_denied" {
		t.Fatalf("fail/device-code-no-role: %d %v", st, m)
	}
	grant(access.VMUserLoginRoleID)
	st, m := redeem()
	if st != 200 || m["token_type"] != "ssh-cert" || m["refresh_token"] == nil {
		t.Fatalf("ok/device-code: %d %v", st, m)
	}
	checkCert(t, parseCert(t, m["access_token"].(string)), pub, vm, time.Now().Add(-time.Minute), "erin@contoso.test")
}

// sshDeviceCode starts a device sign-in for scope.
func sshDeviceCode(t *testing.T, srv *testenv.Server, scope string) deviceCodeResponse {
	t.Helper()
	resp, err := srv.Client.PostForm(srv.Authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {cli}, "scope": {scope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dc deviceCodeResponse
	if err := json.NewDecoder(resp.Body).Decode(&dc); err != nil || dc.UserCode == "" {
		t.Fatalf("device code: %v", err)
	}
	return dc
}

// sshVMInStore makes rg/vm1 in the server's subscription, straight in the store.
func sshVMInStore(t *testing.T, srv *testenv.Server) string {
	t.Helper()
	ctx := context.Background()
	if err := srv.Store.CreateResourceGroup(ctx, resource.ResourceGroup{TenantID: srv.TenantID,
		SubscriptionID: srv.Boot.SubscriptionID, Name: "rg", Location: "westus"}); err != nil {
		t.Fatal(err)
	}
	id := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	if err := srv.Store.CreateResource(ctx, resource.Resource{TenantID: srv.TenantID, ID: id,
		Type: resource.TypeVirtualMachine, Name: "vm1", Location: "westus"}); err != nil {
		t.Fatal(err)
	}
	return id
}
