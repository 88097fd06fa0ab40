package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	homeTenant = "11111111-2222-3333-4444-555555555555"
	homeDomain = "contoso.test"
	subID      = "aaaaaaaa-0000-0000-0000-000000000001"
	userName   = "alice@contoso.test"
)

// fakeIdP is a Latch server as far as the command line can tell: discovery, authorize,
// token (authorization code with PKCE, refresh with rotation, device code, client
// credentials), the subscription list and a small in-memory Graph.
type fakeIdP struct {
	t      *testing.T
	srv    *httptest.Server
	caFile string

	mu            sync.Mutex
	n             int
	codes         map[string]codeGrant
	refresh       map[string]bool
	access        map[string]string // access token → audience resource
	secrets       map[string]string // appId → client secret
	deviceScript  []string          // token answers to device polls: error codes, "" = success
	deviceScope   string
	subs          []map[string]any
	grants        []string // grant_type of every token request, in order
	lastRefreshRT string
	refreshError  string
	badNonce      bool
	authorizeHook func(q url.Values) // may change the redirect's query (state, iss)
	// tokenHook, when set, may refuse a token request: a non-nil answer is sent with 400.
	tokenHook func(form url.Values) map[string]any
	graph     *fakeGraph
	arm       *fakeARM
}

type codeGrant struct{ challenge, redirect, nonce, scope string }

func newFakeIdP(t *testing.T) *fakeIdP {
	f := &fakeIdP{
		t: t, codes: map[string]codeGrant{}, refresh: map[string]bool{}, access: map[string]string{},
		secrets: map[string]string{"99999999-0000-0000-0000-000000000009": "s3cret"},
		subs: []map[string]any{{"id": "/subscriptions/" + subID, "subscriptionId": subID, "tenantId": homeTenant,
			"displayName": "Production", "state": "Enabled", "managedByTenants": []any{}}},
		graph: newFakeGraph(), arm: newFakeARM(),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", f.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", f.token)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", f.devicecode)
	mux.HandleFunc("GET /subscriptions", f.subscriptions)
	f.srv = httptest.NewUnstartedServer(withCorrelation(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/") {
			f.graphHandler(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/subscriptions/") || strings.HasPrefix(r.URL.Path, "/providers/") {
			f.armHandler(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	f.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(f.caFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// withCorrelation echoes the client's correlation id, as the real server does.
func withCorrelation(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("x-ms-correlation-request-id")
		if id == "" {
			id = "server-made-id"
		}
		w.Header().Set("x-ms-correlation-request-id", id)
		h.ServeHTTP(w, r)
	})
}

func (f *fakeIdP) url() string { return f.srv.URL }

func (f *fakeIdP) tenantID(t string) (string, bool) {
	switch t {
	case "organizations", homeDomain, homeTenant:
		return homeTenant, true
	}
	return "", false
}

func (f *fakeIdP) issuer(tid string) string { return f.url() + "/" + tid + "/v2.0" }

func (f *fakeIdP) discovery(w http.ResponseWriter, r *http.Request) {
	tid, ok := f.tenantID(r.PathValue("tenant"))
	if !ok {
		writeJSONTest(w, 400, map[string]any{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant '" + r.PathValue("tenant") + "' not found."})
		return
	}
	base := f.url() + "/" + tid + "/oauth2/v2.0/"
	writeJSONTest(w, 200, map[string]any{
		"issuer": f.issuer(tid), "authorization_endpoint": base + "authorize", "token_endpoint": base + "token",
		"device_authorization_endpoint": base + "devicecode",
	})
}

func (f *fakeIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != cliClientID || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorization request", 400)
		return
	}
	f.mu.Lock()
	f.n++
	code := fmt.Sprintf("code-%d", f.n)
	f.codes[code] = codeGrant{q.Get("code_challenge"), q.Get("redirect_uri"), q.Get("nonce"), q.Get("scope")}
	hook := f.authorizeHook
	f.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {f.issuer(homeTenant)}}
	if hook != nil {
		hook(back)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (f *fakeIdP) devicecode(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	f.deviceScope = r.PostForm.Get("scope")
	f.mu.Unlock()
	writeJSONTest(w, 200, map[string]any{
		"user_code": "ABCD-EFGH", "device_code": "dev-1", "verification_uri": f.url() + "/devicelogin",
		"expires_in": 900, "interval": 5,
		"message": "To sign in, use a web browser to open the page " + f.url() + "/devicelogin and enter the code ABCD-EFGH to authenticate.",
	})
}

func (f *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	grant := r.PostForm.Get("grant_type")
	f.grants = append(f.grants, grant)
	if f.tokenHook != nil {
		if refusal := f.tokenHook(r.PostForm); refusal != nil {
			writeJSONTest(w, 400, refusal)
			return
		}
	}
	scope := r.PostForm.Get("scope")
	tid, _ := f.tenantID(r.PathValue("tenant"))
	var errCode, nonce string
	user := true
	switch grant {
	case "authorization_code":
		errCode, nonce = f.checkCode(r.PostForm)
	case "refresh_token":
		errCode = f.checkRefresh(r.PostForm.Get("refresh_token"))
	case deviceGrant:
		scope = f.deviceScope
		if len(f.deviceScript) > 0 {
			errCode, f.deviceScript = f.deviceScript[0], f.deviceScript[1:]
		}
	case "client_credentials":
		user = false
		if f.secrets[r.PostForm.Get("client_id")] != r.PostForm.Get("client_secret") {
			errCode = "invalid_client"
		}
	default:
		errCode = "unsupported_grant_type"
	}
	if errCode != "" {
		writeJSONTest(w, 400, map[string]any{"error": errCode, "error_description": "AADSTS: " + errCode, "correlation_id": "corr-token"})
		return
	}
	writeJSONTest(w, 200, f.issue(tid, scope, user, nonce, r.PostForm.Get("client_id")))
}

func (f *fakeIdP) checkCode(form url.Values) (errCode, nonce string) {
	g, ok := f.codes[form.Get("code")]
	delete(f.codes, form.Get("code"))
	if !ok || g.redirect != form.Get("redirect_uri") || pkceChallenge(form.Get("code_verifier")) != g.challenge {
		return "invalid_grant", ""
	}
	if f.badNonce {
		return "", "not-the-nonce"
	}
	return "", g.nonce
}

func (f *fakeIdP) checkRefresh(rt string) string {
	f.lastRefreshRT = rt
	if f.refreshError != "" {
		return f.refreshError
	}
	if !f.refresh[rt] {
		return "invalid_grant"
	}
	delete(f.refresh, rt) // rotation: each refresh token works once
	return ""
}

func (f *fakeIdP) issue(tid, scope string, user bool, nonce, clientID string) map[string]any {
	f.n++
	aud := graphResource(f.url())
	if strings.Contains(scope, "/arm/") {
		aud = armResource(f.url())
	}
	at := fakeJWT(map[string]any{"tid": tid, "aud": aud, "n": f.n})
	f.access[at] = aud
	out := map[string]any{"access_token": at, "expires_in": 3600, "token_type": "Bearer", "scope": scope}
	if user {
		rt := fmt.Sprintf("rt-%d", f.n)
		f.refresh[rt] = true
		out["refresh_token"] = rt
		out["id_token"] = fakeJWT(map[string]any{"iss": f.issuer(tid), "aud": cliClientID, "exp": time.Now().Add(time.Hour).Unix(),
			"tid": tid, "preferred_username": userName, "nonce": nonce, "oid": "oid-alice"})
		out["client_info"] = base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"oid-alice","utid":"` + tid + `"}`))
	}
	return out
}

func fakeJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(b) + ".c2ln"
}

// authorized checks the bearer token and its audience, answering 401 when it is wrong.
func (f *fakeIdP) authorized(w http.ResponseWriter, r *http.Request, aud string) bool {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	got := f.access[tok]
	f.mu.Unlock()
	if got != aud {
		writeJSONTest(w, 401, map[string]any{"error": map[string]any{"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}})
		return false
	}
	return true
}

func (f *fakeIdP) subscriptions(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r, armResource(f.url())) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSONTest(w, 200, map[string]any{"value": f.subs})
}

func (f *fakeIdP) grantLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.grants...)
}

func writeJSONTest(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// harness runs the command line in-process against a fakeIdP with its own state directory,
// clock and sleeper.
type harness struct {
	t       *testing.T
	idp     *fakeIdP
	dir     string
	now     time.Time
	sleeps  []time.Duration
	browser BrowserFunc
	env     map[string]string
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, idp: newFakeIdP(t), dir: filepath.Join(t.TempDir(), "latch"), now: time.Now()}
	h.env = map[string]string{"LATCH_CONFIG_DIR": h.dir}
	h.browser = h.followRedirects
	return h
}

// result is one command's exit status and output.
type result struct {
	code           int
	stdout, stderr string
}

func (h *harness) run(args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	a := newApp(strings.NewReader(""), &out, &errb, func(k string) string { return h.env[k] })
	a.now = func() time.Time { return h.now }
	a.sleep = func(ctx context.Context, d time.Duration) error { h.sleeps = append(h.sleeps, d); return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if h.browser != nil {
		ctx = WithBrowser(ctx, h.browser)
	}
	code := runApp(ctx, a, args)
	return result{code, out.String(), errb.String()}
}

// followRedirects plays the browser: it opens the sign-in URL and follows the redirect back
// to the loopback listener.
func (h *harness) followRedirects(ctx context.Context, authURL string) error {
	c := h.idp.srv.Client()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// login signs in with the device code flow (no polling delay) and fails the test otherwise.
func (h *harness) login(extra ...string) result {
	h.t.Helper()
	args := append([]string{"login", "--server", h.idp.url(), "--ca-file", h.idp.caFile, "--use-device-code"}, extra...)
	res := h.run(args...)
	if res.code != 0 {
		h.t.Fatalf("login: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	return res
}

// decode parses a command's JSON output.
func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return v
}
