package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/token"
)

// testEnv is one control plane for a test of the HTTP API: a real SQLite store in the
// test's temporary directory, the real token service, and httpapi.Server behind an httptest
// TLS server. It holds the tenant contoso.test with one Global Administrator,
// admin@contoso.test. Tokens are minted directly with the token service, so API tests do not
// depend on the sign-in flows; OAuth tests drive those flows against the same server.
//
// Everything is torn down by t.Cleanup. When the test fails, the server's log is printed.
type testEnv struct {
	Store  store.Store
	Tokens *token.Service
	API    *httpapi.Server
	URL    string       // https://127.0.0.1:PORT, no trailing slash
	Client *http.Client // trusts the test server's certificate; follows no redirects

	Tenant directory.Tenant // contoso.test, the server's home tenant
	Admin  directory.User   // admin@contoso.test, Global Administrator

	srv *httptest.Server
}

// newTestEnv starts a control plane for t.
func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &testEnv{Store: st, Tokens: token.NewService(st, token.Config{})}
	e.Tenant = e.createTenant(t, "contoso.test")
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	// The listener exists before the server starts, so the API can know its URL (which
	// issuers and audiences are built from) before the first request.
	e.srv = httptest.NewUnstartedServer(nil)
	e.URL = "https://" + e.srv.Listener.Addr().String()
	e.API = &httpapi.Server{Store: st, Tokens: e.Tokens, Secrets: authn.NewSecretVerifier(nil),
		Log: slog.New(slog.NewTextHandler(logs, nil)), URL: e.URL, HomeTenantID: e.Tenant.ID}
	e.srv.Config.Handler = e.API.Handler()
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	e.Client = e.srv.Client()
	e.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.Admin = e.createUser(t, e.Tenant.ID, "admin@contoso.test", directory.GlobalAdministrator)
	return e
}

// GraphAudience and ARMAudience are the aud values of the server's own APIs.
func (e *testEnv) GraphAudience() string { return e.URL + "/" }
func (e *testEnv) ARMAudience() string   { return e.URL + "/arm/" }

// createTenant adds a tenant with the given default domain straight to the store.
func (e *testEnv) createTenant(t testing.TB, domain string) directory.Tenant {
	t.Helper()
	tn := directory.Tenant{ID: uuid.NewString(), DisplayName: domain, DefaultDomain: domain,
		SigningAlg: "ES256", Created: time.Now().UTC()}
	if err := e.Store.CreateTenant(context.Background(), tn); err != nil {
		t.Fatalf("create tenant %s: %v", domain, err)
	}
	return tn
}

// createUser adds an enabled, passwordless user straight to the store and assigns it the
// given directory roles.
func (e *testEnv) createUser(t testing.TB, tenantID, upn string, roles ...directory.DirectoryRole) directory.User {
	t.Helper()
	name, _, _ := strings.Cut(upn, "@")
	u := directory.User{ID: uuid.NewString(), TenantID: tenantID, UserPrincipalName: upn,
		DisplayName: name, AccountEnabled: true}
	if err := e.Store.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %s: %v", upn, err)
	}
	for _, r := range roles {
		e.assignRole(t, tenantID, u.ID, r)
	}
	return u
}

// setPassword gives a user a password (argon2id, so this takes tens of milliseconds).
func (e *testEnv) setPassword(t testing.TB, u directory.User, password string) directory.User {
	t.Helper()
	hash, err := authn.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u, err = e.Store.UpdateUser(context.Background(), u.TenantID, u.ID, func(u directory.User) (directory.User, error) {
		u.Password = directory.Password{Hash: hash, LastChanged: time.Now()}
		return u, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// createApp adds an enabled application (one record for app and service principal) straight
// to the store and assigns it the given directory roles.
func (e *testEnv) createApp(t testing.TB, tenantID, name string, roles ...directory.DirectoryRole) directory.ServicePrincipal {
	t.Helper()
	appID := uuid.NewString()
	sp := directory.ServicePrincipal{ID: uuid.NewString(), TenantID: tenantID, AppID: appID, DisplayName: name,
		Type: directory.SPApplication, AccountEnabled: true, ServicePrincipalNames: []string{appID}}
	if err := e.Store.CreateServicePrincipal(context.Background(), sp); err != nil {
		t.Fatalf("create app %s: %v", name, err)
	}
	for _, r := range roles {
		e.assignRole(t, tenantID, sp.ID, r)
	}
	return sp
}

// createGroup adds a security group with the given members straight to the store.
func (e *testEnv) createGroup(t testing.TB, tenantID, name string, members ...string) directory.Group {
	t.Helper()
	g := directory.Group{ID: uuid.NewString(), TenantID: tenantID, DisplayName: name, MailNickname: name,
		SecurityEnabled: true, Members: members}
	if err := e.Store.CreateGroup(context.Background(), g); err != nil {
		t.Fatalf("create group %s: %v", name, err)
	}
	return g
}

// assignRole gives a principal a directory role across its tenant.
func (e *testEnv) assignRole(t testing.TB, tenantID, principalID string, role directory.DirectoryRole) directory.RoleAssignment {
	t.Helper()
	a := directory.RoleAssignment{ID: uuid.NewString(), TenantID: tenantID, PrincipalID: principalID,
		RoleDefinitionID: role.TemplateID, DirectoryScopeID: "/"}
	if err := e.Store.CreateDirectoryRoleAssignment(context.Background(), a); err != nil {
		t.Fatalf("assign %s: %v", role.DisplayName, err)
	}
	return a
}

// issuer is what the server accepts as iss for a tenant: the tenant's v2.0 authority for
// the home tenant, the /adfs authority (which names no tenant) for any other.
func (e *testEnv) issuer(tenantID string) string {
	if tenantID == e.Tenant.ID {
		return e.URL + "/" + tenantID + "/v2.0"
	}
	return e.URL + "/adfs"
}

// userClaims are the claims of a delegated Graph access token for u, issued to the CLI's
// client id. Change fields (Audience, Expires …) before passing them to sign.
func (e *testEnv) userClaims(u directory.User) token.Claims {
	return token.Claims{Kind: token.KindAccess, Issuer: e.issuer(u.TenantID), TenantID: u.TenantID,
		Subject: u.ID, ObjectID: u.ID, PrincipalType: token.PrincipalUser, AppID: directory.AzureCLIAppID,
		Audience: e.GraphAudience(), UPN: u.UserPrincipalName, Name: u.DisplayName,
		Scope: "user_impersonation", AMR: []string{"pwd"}, AuthTime: time.Now()}
}

// appClaims are the claims of an application Graph access token for sp.
func (e *testEnv) appClaims(sp directory.ServicePrincipal) token.Claims {
	return token.Claims{Kind: token.KindAccess, Issuer: e.issuer(sp.TenantID), TenantID: sp.TenantID,
		Subject: sp.ID, ObjectID: sp.ID, PrincipalType: token.PrincipalApp, AppID: sp.AppID,
		Audience: e.GraphAudience(), Name: sp.DisplayName}
}

// sign mints a token with the server's token service.
func (e *testEnv) sign(t testing.TB, c token.Claims) string {
	t.Helper()
	raw, _, err := e.Tokens.Sign(context.Background(), c)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return raw
}

// tokenFor is a Graph access token for user u; appToken one for service principal sp.
func (e *testEnv) tokenFor(t testing.TB, u directory.User) string { return e.sign(t, e.userClaims(u)) }
func (e *testEnv) appToken(t testing.TB, sp directory.ServicePrincipal) string {
	return e.sign(t, e.appClaims(sp))
}

// armTokenFor is an ARM access token (audience URL/arm/) for user u.
func (e *testEnv) armTokenFor(t testing.TB, u directory.User) string {
	c := e.userClaims(u)
	c.Audience = e.ARMAudience()
	return e.sign(t, c)
}

// do sends a request to the server and returns the response (its body already read and
// closed) and the body decoded as a JSON object (nil when it is not one). body may be nil,
// a string or []byte sent as is, or any other value sent as JSON. An empty tok sends no
// Authorization header.
func (e *testEnv) do(t testing.TB, method, path, tok string, body any) (*http.Response, map[string]any) {
	t.Helper()
	resp, raw := e.doRaw(t, method, path, tok, body)
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		m = nil
	}
	return resp, m
}

// doRaw is do returning the raw response body.
func (e *testEnv) doRaw(t testing.TB, method, path, tok string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, raw
}

// errorCode is the code of an {"error":{"code":…}} body, or "".
func errorCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// errorMessage is the message of an {"error":{"message":…}} body, or "".
func errorMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// lockedBuffer collects the server's log from concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apiCase is one request and the answer it must get. code, when set, is the error code the
// body must carry; check, when set, inspects the decoded body.
type apiCase struct {
	name         string
	method, path string
	tok          string
	body         any
	status       int
	code         string
	check        func(t *testing.T, m map[string]any)
}

// runCases executes the cases in order (later cases may depend on earlier changes). Every
// refusal must carry a message.
func (e *testEnv) runCases(t *testing.T, cases []apiCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := e.do(t, c.method, c.path, c.tok, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s: status %d, want %d; body %v", c.method, c.path, resp.StatusCode, c.status, m)
			}
			if c.code != "" && errorCode(m) != c.code {
				t.Fatalf("%s %s: error code %q, want %q; body %v", c.method, c.path, errorCode(m), c.code, m)
			}
			if c.status >= 400 && strings.TrimSpace(errorMessage(m)) == "" {
				t.Fatalf("%s %s: refusal without a message: %v", c.method, c.path, m)
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}
