package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/testenv"
	"github.com/latchsh/latch/token"
)

// The forged ids a client sends on every request of these tests; none may reach the log,
// a token or a certificate of the sign-in.
const (
	forgedCorrelation = "00000000-0000-4000-8000-00000000f0f0"
	forgedRequestID   = "00000000-0000-4000-8000-00000000abcd"
)

// chainFixture is a server with a VM the user may log in to and a key to certify.
type chainFixture struct {
	srv  *testenv.Server
	vm   string
	jwk  string
	user string // UPN
	id   string // object id
}

func newChainFixture(t *testing.T, name string) *chainFixture {
	t.Helper()
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := newUser(t, srv, name, webPassword)
	vm := sshVMInStore(t, srv)
	if err := srv.Store.CreateRoleAssignment(context.Background(), resource.RoleAssignment{TenantID: srv.TenantID,
		Assignment: access.RoleAssignment{ID: uuid.NewString(), Scope: vm, RoleDefinitionID: access.VMUserLoginRoleID,
			PrincipalID: u.ID, PrincipalType: access.PrincipalUser}}); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	jwk := `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	return &chainFixture{srv: srv, vm: vm, jwk: jwk, user: u.UserPrincipalName, id: u.ID}
}

// post sends form to u with browser c (or the plain client), with the headers given, and
// returns the answer's status, Location, correlation id and body.
func (f *chainFixture) post(t *testing.T, c *http.Client, u string, form url.Values, headers map[string]string) (int, string, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("x-ms-correlation-request-id"), body
}

// token posts form to the token endpoint with forged correlation headers.
func (f *chainFixture) token(t *testing.T, form url.Values) map[string]any {
	t.Helper()
	st, _, _, body := f.post(t, f.srv.Client, f.srv.Authority()+"/oauth2/v2.0/token", form, forgedHeaders())
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || st != 200 {
		t.Fatalf("token endpoint: %d %s", st, body)
	}
	return m
}

func forgedHeaders() map[string]string {
	return map[string]string{"x-ms-correlation-request-id": forgedCorrelation, "client-request-id": forgedRequestID}
}

// codeSignIn signs in on the authorization page with headers and returns the code and the
// correlation id the page answered with.
func (f *chainFixture) codeSignIn(t *testing.T, challenge string, headers map[string]string) (string, string) {
	t.Helper()
	c := f.srv.Browser()
	endpoint := f.srv.Authority() + "/oauth2/v2.0/authorize"
	v := authParams(challenge)
	first, err := testenv.Get(c, endpoint+"?"+v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	v.Set("csrf", first.CSRF)
	v.Set("step", "password")
	v.Set("username", f.user)
	v.Set("credential", webPassword)
	st, loc, cid, _ := f.post(t, c, endpoint, v, headers)
	l, _ := url.Parse(loc)
	if st != http.StatusSeeOther || l.Query().Get("code") == "" {
		t.Fatalf("sign-in answered %d, Location %q", st, loc)
	}
	return l.Query().Get("code"), cid
}

// deviceSignIn approves a device code for the ssh scope on the pages and returns the device
// code and the correlation id the confirming page answered with.
func (f *chainFixture) deviceSignIn(t *testing.T, headers map[string]string) (string, string) {
	t.Helper()
	dc := sshDeviceCode(t, f.srv, sshScope+" offline_access openid")
	c := f.srv.Browser()
	p, err := testenv.Get(c, f.srv.URL+"/devicelogin")
	for _, step := range []url.Values{{"step": {"code"}}, {"step": {"password"}, "username": {f.user}, "credential": {webPassword}}} {
		if err != nil {
			t.Fatal(err)
		}
		step.Set("otc", dc.UserCode)
		step.Set("csrf", p.CSRF)
		p, err = testenv.Post(c, f.srv.URL+"/devicelogin", step)
	}
	if err != nil || !strings.Contains(p.Body, `value="confirm"`) {
		t.Fatalf("device login did not reach the confirmation: %v %s", err, p.Error())
	}
	st, _, cid, body := f.post(t, c, f.srv.URL+"/devicelogin",
		url.Values{"otc": {dc.UserCode}, "step": {"confirm"}, "csrf": {p.CSRF}}, headers)
	if st != 200 || !strings.Contains(string(body), "signed in") {
		t.Fatalf("confirmation answered %d", st)
	}
	return dc.DeviceCode, cid
}

// sshForm asks for a certificate for the fixture's VM with grant form g.
func (f *chainFixture) sshForm(g url.Values) url.Values {
	g.Set("client_id", cli)
	g.Set("token_type", "ssh-cert")
	g.Set("req_cnf", f.jwk)
	g.Set("vm_id", f.vm)
	g.Set("host_consent", f.vm)
	return g
}

// certCorrelation is the correlation id in the key id of the certificate an ssh-cert
// answer carries.
func certCorrelation(t *testing.T, m map[string]any) string {
	t.Helper()
	k, err := token.ParseSSHKeyID(parseCert(t, m["access_token"].(string)).KeyId)
	if err != nil {
		t.Fatal(err)
	}
	return k.CorrelationID
}

// tokenCorrelation is an access token's xms_cid, read without verifying it.
func tokenCorrelation(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	var c struct {
		Cid string `json:"xms_cid"`
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(b, &c) != nil {
		t.Fatalf("access token payload: %v", err)
	}
	return c.Cid
}

// entries is the user's sign-in log.
func (f *chainFixture) entries(t *testing.T) []signinlog.Entry {
	t.Helper()
	if err := f.srv.API.FlushSignIns(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := f.srv.Store.ListSignIns(context.Background(), f.srv.TenantID, signinlog.Filter{UserID: f.id}, 100)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// checkChain wants the user's entries to be the flows given, in any order, all with id x.
func (f *chainFixture) checkChain(t *testing.T, x string, flows ...string) {
	t.Helper()
	all := f.entries(t)
	if len(all) != len(flows) {
		t.Fatalf("%d entries, want %d (%v)", len(all), len(flows), flows)
	}
	seen := map[string]int{}
	for _, e := range all {
		seen[e.Latch.Flow]++
		if e.CorrelationID != x {
			t.Errorf("the %s entry has correlation id %q, want the sign-in's %q", e.Latch.Flow, e.CorrelationID, x)
		}
		if e.Latch.Flow == signinlog.FlowSSHCertificate && !strings.HasPrefix(e.Latch.SSHCertificateKey, "corr="+x+",") {
			t.Errorf("the certificate entry's key id %q lacks the sign-in's id", e.Latch.SSHCertificateKey)
		}
	}
	for _, fl := range flows {
		if seen[fl] == 0 {
			t.Errorf("no %s entry among %v", fl, seen)
		}
		seen[fl]--
	}
}

// A person signs in on the authorization page; the code's redemption, the access token, a
// certificate issued later through the refresh token (twice, across rotation) and their log
// entries carry the page's correlation id, whatever the token requests' headers say.
func TestSignInCorrelationAuthCode(t *testing.T) {
	t.Run("fail/client-chosen-page-id", func(t *testing.T) {
		f := newChainFixture(t, "forger")
		verifier, challenge := pkce("f")
		code, pageID := f.codeSignIn(t, challenge, forgedHeaders())
		if pageID != forgedCorrelation {
			t.Fatalf("the page answered %q; this test wants the client's id echoed", pageID)
		}
		m := f.token(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {cli}, "code": {code},
			"redirect_uri": {"http://localhost:39999"}, "code_verifier": {verifier}})
		x := tokenCorrelation(t, m["access_token"].(string))
		if x == "" || x == forgedCorrelation || x == forgedRequestID {
			t.Fatalf("the sign-in took the correlation id %q from the client", x)
		}
		f.checkChain(t, x, signinlog.FlowBrowser)
	})
	t.Run("ok/code-then-certificates", func(t *testing.T) {
		f := newChainFixture(t, "alice")
		verifier, challenge := pkce("a")
		code, x := f.codeSignIn(t, challenge, nil)
		if x == "" {
			t.Fatal("the page has no correlation id")
		}
		m := f.token(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {cli}, "code": {code},
			"redirect_uri": {"http://localhost:39999"}, "code_verifier": {verifier}})
		if got := tokenCorrelation(t, m["access_token"].(string)); got != x {
			t.Fatalf("the access token's xms_cid is %q, want the page's %q", got, x)
		}
		rt := m["refresh_token"].(string)
		for range 2 { // the second request redeems the rotated token
			m = f.token(t, f.sshForm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {sshScope}}))
			if got := certCorrelation(t, m); got != x {
				t.Fatalf("the certificate's key id has %q, want the page's %q", got, x)
			}
			rt = m["refresh_token"].(string)
		}
		f.checkChain(t, x, signinlog.FlowBrowser, signinlog.FlowSSHCertificate, signinlog.FlowSSHCertificate)
	})
}

// A person approves a device code on the pages; the certificate the device redeems it for,
// and one it gets later through the refresh token, carry the confirming page's id.
func TestSignInCorrelationDeviceCode(t *testing.T) {
	t.Run("fail/client-chosen-page-id", func(t *testing.T) {
		f := newChainFixture(t, "mallory")
		dc, pageID := f.deviceSignIn(t, forgedHeaders())
		if pageID != forgedCorrelation {
			t.Fatalf("the page answered %q; this test wants the client's id echoed", pageID)
		}
		m := f.token(t, f.sshForm(url.Values{"grant_type": {grantDevice}, "device_code": {dc}}))
		x := certCorrelation(t, m)
		if x == "" || x == forgedCorrelation || x == forgedRequestID {
			t.Fatalf("the certificate took the correlation id %q from the client", x)
		}
		f.checkChain(t, x, signinlog.FlowSSHCertificate)
	})
	t.Run("ok/device-then-refresh", func(t *testing.T) {
		f := newChainFixture(t, "erin")
		dc, x := f.deviceSignIn(t, nil)
		m := f.token(t, f.sshForm(url.Values{"grant_type": {grantDevice}, "device_code": {dc}}))
		if got := certCorrelation(t, m); got != x {
			t.Fatalf("the certificate's key id has %q, want the page's %q", got, x)
		}
		m = f.token(t, f.sshForm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}, "scope": {sshScope}}))
		if got := certCorrelation(t, m); got != x {
			t.Fatalf("the refreshed certificate's key id has %q, want the page's %q", got, x)
		}
		f.checkChain(t, x, signinlog.FlowSSHCertificate, signinlog.FlowSSHCertificate)
	})
}
