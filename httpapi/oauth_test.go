package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/testenv"
)

const cli = directory.AzureCLIAppID

// pkce returns a verifier and its S256 challenge.
func pkce(seed string) (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(seed, 43)[:43]))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams is a valid authorization request for the CLI client.
func authParams(challenge string) url.Values {
	return url.Values{"client_id": {cli}, "response_type": {"code"}, "redirect_uri": {"http://localhost:39999"},
		"scope": {"openid profile offline_access"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
}

// noFollow is the server's client without redirect following, to look at Location.
func noFollow(srv *testenv.Server) *http.Client {
	c := *srv.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestAuthorizeRefusals(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	_, challenge := pkce("a")
	base := srv.Authority() + "/oauth2/v2.0/authorize?"
	cases := []struct {
		name     string
		edit     func(url.Values)
		status   int    // for refusals shown on a page
		redirErr string // for refusals sent back to the client
	}{
		{"fail/unknown-client", func(v url.Values) { v.Set("client_id", "11111111-1111-1111-1111-111111111111") }, 401, ""},
		{"fail/redirect-other-host", func(v url.Values) { v.Set("redirect_uri", "http://evil.example:39999") }, 400, ""},
		{"fail/redirect-https-loopback-unregistered", func(v url.Values) { v.Set("redirect_uri", "https://localhost:39999") }, 400, ""},
		{"fail/redirect-extra-path", func(v url.Values) { v.Set("redirect_uri", "http://localhost:39999/cb/../x") }, 400, ""},
		{"fail/redirect-query-added", func(v url.Values) { v.Set("redirect_uri", "http://localhost:39999/?next=evil") }, 400, ""},
		{"fail/redirect-fragment", func(v url.Values) { v.Set("redirect_uri", "http://localhost:39999/#x") }, 400, ""},
		{"fail/redirect-userinfo", func(v url.Values) { v.Set("redirect_uri", "http://evil@localhost:39999") }, 400, ""},
		{"fail/response-mode-fragment", func(v url.Values) { v.Set("response_mode", "fragment") }, 400, ""},
		{"fail/no-pkce", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, 0, "invalid_request"},
		{"fail/pkce-plain", func(v url.Values) { v.Set("code_challenge_method", "plain") }, 0, "invalid_request"},
		{"fail/implicit-token", func(v url.Values) { v.Set("response_type", "token") }, 0, "unsupported_response_type"},
		{"fail/hybrid", func(v url.Values) { v.Set("response_type", "code id_token") }, 0, "unsupported_response_type"},
		{"ok/loopback-any-port", func(v url.Values) { v.Set("redirect_uri", "http://localhost:40123") }, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := authParams(challenge)
			c.edit(v)
			resp, err := noFollow(srv).Get(base + v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if c.redirErr != "" {
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != c.redirErr ||
					loc.Query().Get("state") != "st-1" || loc.Query().Get("iss") != srv.Authority()+"/v2.0" {
					t.Fatalf("got %d %q, want a redirect with error=%s, state and iss", resp.StatusCode, loc, c.redirErr)
				}
				return
			}
			if resp.StatusCode != c.status || resp.Header.Get("Location") != "" {
				t.Fatalf("got %d (Location %q), want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), c.status)
			}
		})
	}
	t.Run("fail/duplicate-parameter", func(t *testing.T) {
		resp, _ := noFollow(srv).Get(base + authParams(challenge).Encode() + "&client_id=" + cli)
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
}

// signInCode runs the authorization request and returns the code from the redirect.
func signInCode(t *testing.T, srv *testenv.Server, challenge, upn, cred string) string {
	t.Helper()
	v := authParams(challenge)
	v.Set("username", upn)
	v.Set("credential", cred)
	resp := authorizePost(t, srv, v)
	loc, _ := url.Parse(resp.Location)
	if resp.Status != http.StatusSeeOther || loc.Query().Get("code") == "" {
		t.Fatalf("sign-in answered %d, Location %q", resp.Status, loc)
	}
	if loc.Query().Get("iss") != srv.Authority()+"/v2.0" || loc.Query().Get("state") != "st-1" {
		t.Fatalf("authorization response lacks iss/state: %q", loc)
	}
	return loc.Query().Get("code")
}

// authorizePost opens the sign-in page for the request v and posts the password step with
// the page's CSRF token, as the browser does.
func authorizePost(t *testing.T, srv *testenv.Server, v url.Values) testenv.Page {
	t.Helper()
	c := srv.Browser()
	endpoint := srv.Authority() + "/oauth2/v2.0/authorize"
	first, err := testenv.Get(c, endpoint+"?"+v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	v.Set("csrf", first.CSRF)
	v.Set("step", "password")
	p, err := testenv.Post(c, endpoint, v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tokenCall posts a form to the token endpoint and decodes the JSON answer.
func tokenCall(t *testing.T, srv *testenv.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client.PostForm(srv.Authority()+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("token endpoint answered non-JSON %d: %s", resp.StatusCode, body)
	}
	return resp.StatusCode, m
}

// newUser makes an enabled user with a password, straight in the store.
func newUser(t *testing.T, srv *testenv.Server, name, password string) directory.User {
	t.Helper()
	u := testenv.CreateUser(t, srv, name, password)
	return u
}

func TestAuthCodeGrant(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := newUser(t, srv, "bob", "correct horse battery staple")
	verifier, challenge := pkce("b")
	redeem := func(code, verifier, redirect string) (int, map[string]any) {
		return tokenCall(t, srv, url.Values{"grant_type": {"authorization_code"}, "client_id": {cli}, "code": {code},
			"redirect_uri": {redirect}, "code_verifier": {verifier}, "scope": {"openid offline_access"}})
	}

	t.Run("fail/wrong-password", func(t *testing.T) {
		v := authParams(challenge)
		v.Set("username", u.UserPrincipalName)
		v.Set("credential", "wrong password here")
		resp := authorizePost(t, srv, v)
		if resp.Status != http.StatusUnauthorized || resp.Location != "" {
			t.Fatalf("got %d", resp.Status)
		}
	})
	t.Run("fail/wrong-verifier", func(t *testing.T) {
		code := signInCode(t, srv, challenge, u.UserPrincipalName, "correct horse battery staple")
		other, _ := pkce("c")
		if st, m := redeem(code, other, "http://localhost:39999"); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("got %d %v", st, m["error"])
		}
	})
	t.Run("fail/wrong-redirect", func(t *testing.T) {
		code := signInCode(t, srv, challenge, u.UserPrincipalName, "correct horse battery staple")
		if st, m := redeem(code, verifier, "http://localhost:40000"); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("got %d %v", st, m["error"])
		}
	})
	t.Run("fail/no-verifier", func(t *testing.T) {
		code := signInCode(t, srv, challenge, u.UserPrincipalName, "correct horse battery staple")
		if st, m := redeem(code, "", "http://localhost:39999"); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("got %d %v", st, m["error"])
		}
	})
	t.Run("ok/then-fail/replay-revokes", func(t *testing.T) {
		code := signInCode(t, srv, challenge, u.UserPrincipalName, "correct horse battery staple")
		st, m := redeem(code, verifier, "http://localhost:39999")
		if st != 200 || m["access_token"] == nil || m["id_token"] == nil || m["refresh_token"] == nil || m["client_info"] == nil {
			t.Fatalf("first redemption: %d %v", st, m)
		}
		if st, m := redeem(code, verifier, "http://localhost:39999"); st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("replay: %d %v", st, m["error"])
		}
		st, m = tokenCall(t, srv, url.Values{"grant_type": {"refresh_token"}, "client_id": {cli}, "refresh_token": {m["refresh_token"].(string)}})
		if st != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("refresh token of a replayed code still works: %d %v", st, m)
		}
	})
}

func TestRefreshRotation(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := newUser(t, srv, "carol", "correct horse battery staple")
	verifier, challenge := pkce("d")
	code := signInCode(t, srv, challenge, u.UserPrincipalName, "correct horse battery staple")
	_, m := tokenCall(t, srv, url.Values{"grant_type": {"authorization_code"}, "client_id": {cli}, "code": {code},
		"redirect_uri": {"http://localhost:39999"}, "code_verifier": {verifier}})
	first := m["refresh_token"].(string)
	refresh := func(rt, client string) (int, map[string]any) {
		return tokenCall(t, srv, url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {rt}, "scope": {srv.GraphScope() + " offline_access"}})
	}
	if st, m := refresh(first, srv.Boot.Owner.AppID); st == 200 {
		t.Fatalf("fail/other-client: refresh token worked for another client: %v", m)
	}
	st, m := refresh(first, cli)
	if st != 200 || m["refresh_token"] == first {
		t.Fatalf("ok/rotate: %d %v", st, m)
	}
	second := m["refresh_token"].(string)
	if st, _ := refresh(first, cli); st != 400 {
		t.Fatalf("fail/reuse: a rotated refresh token was accepted again")
	}
	if st, _ := refresh(second, cli); st != 400 {
		t.Fatalf("fail/family-revoked: reuse did not revoke the newer link")
	}
	if st, m := refresh("garbage", cli); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("fail/unknown: %d %v", st, m)
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	owner, secret := srv.Boot.Owner.AppID, srv.Boot.Owner.Secret
	cc := func(edit func(url.Values)) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {owner}, "client_secret": {secret}, "scope": {srv.ARMScope()}}
		edit(v)
		return v
	}
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"fail/password-grant", url.Values{"grant_type": {"password"}, "client_id": {cli}, "username": {"a"}, "password": {"b"}}, 400, "unsupported_grant_type"},
		{"fail/implicit", url.Values{"grant_type": {"implicit"}, "client_id": {cli}}, 400, "unsupported_grant_type"},
		{"fail/no-grant", url.Values{"client_id": {cli}}, 400, "invalid_request"},
		{"fail/wrong-secret", cc(func(v url.Values) { v.Set("client_secret", "nope") }), 401, "invalid_client"},
		{"fail/unknown-client", cc(func(v url.Values) { v.Set("client_id", "22222222-2222-2222-2222-222222222222") }), 401, "invalid_client"},
		{"fail/public-client-credentials", url.Values{"grant_type": {"client_credentials"}, "client_id": {cli}, "scope": {srv.ARMScope()}}, 401, "invalid_client"},
		{"fail/confidential-without-secret", cc(func(v url.Values) { v.Del("client_secret") }), 401, "invalid_client"},
		{"fail/scope-not-default", cc(func(v url.Values) { v.Set("scope", "openid") }), 400, "invalid_scope"},
		{"fail/unknown-resource", cc(func(v url.Values) { v.Set("scope", "https://unknown.example/.default") }), 400, "invalid_resource"},
		{"fail/two-resources", cc(func(v url.Values) { v.Set("scope", srv.ARMScope()+" "+srv.GraphScope()) }), 400, "invalid_scope"},
		{"fail/assertion-and-secret", cc(func(v url.Values) { v.Set("client_assertion", "a.b.c") }), 400, "invalid_request"},
		{"fail/bad-assertion", cc(func(v url.Values) {
			v.Del("client_secret")
			v.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			v.Set("client_assertion", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
		}), 401, "invalid_client"},
		{"fail/device-code-unknown", url.Values{"grant_type": {"device_code"}, "client_id": {cli}, "device_code": {"nope"}}, 400, "invalid_grant"},
		{"ok/client-credentials", cc(func(url.Values) {}), 200, ""},
		{"ok/client-credentials-v1-trailing-slash", cc(func(v url.Values) { v.Set("scope", srv.URL+"/arm/.default") }), 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, m := tokenCall(t, srv, c.form)
			if st != c.status || (c.code != "" && m["error"] != c.code) {
				t.Fatalf("got %d %v (%v), want %d %s", st, m["error"], m["error_description"], c.status, c.code)
			}
			if c.code != "" && !strings.Contains(m["error_description"].(string), "Correlation ID") {
				t.Errorf("error_description lacks the correlation id: %q", m["error_description"])
			}
		})
	}
	t.Run("fail/duplicate-parameter", func(t *testing.T) {
		resp, err := srv.Client.Post(srv.Authority()+"/oauth2/v2.0/token", "application/x-www-form-urlencoded",
			strings.NewReader(cc(func(url.Values) {}).Encode()+"&client_secret=x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
}

func TestDeviceCodeFlow(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := newUser(t, srv, "dave", "correct horse battery staple")
	resp, err := srv.Client.PostForm(srv.Authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {cli}, "scope": {srv.ARMScope() + " offline_access openid profile"}})
	if err != nil {
		t.Fatal(err)
	}
	var dc struct {
		UserCode   string `json:"user_code"`
		DeviceCode string `json:"device_code"`
		ExpiresIn  int    `json:"expires_in"` // a number, or this decode fails
		Interval   int    `json:"interval"`
		Message    string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&dc); err != nil || dc.Interval != 5 || dc.ExpiresIn != 900 {
		t.Fatalf("device code response %+v, %v", dc, err)
	}
	resp.Body.Close()
	poll := func(grant string) (int, map[string]any) {
		return tokenCall(t, srv, url.Values{"grant_type": {grant}, "client_id": {cli}, "device_code": {dc.DeviceCode}})
	}
	if st, m := poll("urn:ietf:params:oauth:grant-type:device_code"); st != 400 || m["error"] != "authorization_pending" {
		t.Fatalf("fail/pending: %d %v", st, m["error"])
	}
	if st, m := poll("device_code"); st != 400 || m["error"] != "slow_down" {
		t.Fatalf("fail/slow-down: %d %v", st, m["error"])
	}
	if err := srv.ApproveDevice(dc.UserCode, u.UserPrincipalName, "wrong password!!"); err == nil || !strings.Contains(err.Error(), "incorrect") {
		t.Fatalf("fail/wrong-password on devicelogin: %v", err)
	}
	approveDevice(t, srv, dc.UserCode, u.UserPrincipalName, "correct horse battery staple")
	// Many pollers at once: exactly one gets the tokens.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, _ := poll("device_code"); st == 200 {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("ok/redeem-once: %d pollers got tokens, want 1", wins)
	}
	b := srv.Browser()
	page, _ := testenv.Get(b, srv.URL+"/devicelogin")
	approveAgain, _ := testenv.Post(b, srv.URL+"/devicelogin", url.Values{"otc": {dc.UserCode}, "step": {"code"}, "csrf": {page.CSRF}})
	if approveAgain.Status != 400 {
		t.Fatalf("fail/used-code-on-page: %d", approveAgain.Status)
	}
}

func TestAPIRefusesTokens(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	_, m := tokenCall(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Boot.Owner.AppID},
		"client_secret": {srv.Boot.Owner.Secret}, "scope": {srv.ARMScope()}})
	good := m["access_token"].(string)
	for name, tok := range map[string]string{
		"fail/none":      "",
		"fail/garbage":   "abc",
		"fail/tampered":  good[:len(good)-4] + "AAAA",
		"fail/many-dots": strings.Repeat(".", 10000),
	} {
		if st := get(t, srv, "/subscriptions?api-version=2022-12-01", tok); st != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", name, st)
		}
	}
	if st := get(t, srv, "/subscriptions?api-version=2022-12-01", good); st != 200 {
		t.Errorf("ok/good-token: got %d", st)
	}
	_, m = tokenCall(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Boot.Owner.AppID},
		"client_secret": {srv.Boot.Owner.Secret}, "scope": {srv.GraphScope()}})
	if st := get(t, srv, "/subscriptions?api-version=2022-12-01", m["access_token"].(string)); st != http.StatusUnauthorized {
		t.Errorf("fail/graph-token-on-arm: got %d, want 401", st)
	}
	// An app whose account is disabled loses access at once, whatever its token says.
	sp, _ := srv.Store.GetServicePrincipalByAppID(context.Background(), srv.TenantID, srv.Boot.Owner.AppID)
	srv.Store.UpdateServicePrincipal(context.Background(), srv.TenantID, sp.ID, func(s directory.ServicePrincipal) (directory.ServicePrincipal, error) {
		s.AccountEnabled = false
		return s, nil
	})
	if st := get(t, srv, "/subscriptions?api-version=2022-12-01", good); st != http.StatusUnauthorized {
		t.Errorf("fail/disabled-app: got %d, want 401", st)
	}
}

// TestDisabledClientRefusedAfterCache: the token endpoint caches clients for a moment, so a
// disabled app must be refused once that moment has passed.
func TestDisabledClientRefusedAfterCache(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := testenv.StartServer(t, testenv.ServerOptions{Now: clock})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Boot.Owner.AppID},
		"client_secret": {srv.Boot.Owner.Secret}, "scope": {srv.ARMScope()}}
	if st, _ := tokenCall(t, srv, form); st != 200 {
		t.Fatalf("ok/before: %d", st)
	}
	sp, _ := srv.Store.GetServicePrincipalByAppID(context.Background(), srv.TenantID, srv.Boot.Owner.AppID)
	srv.Store.UpdateServicePrincipal(context.Background(), srv.TenantID, sp.ID, func(s directory.ServicePrincipal) (directory.ServicePrincipal, error) {
		s.AccountEnabled = false
		return s, nil
	})
	mu.Lock()
	now = now.Add(3 * time.Second)
	mu.Unlock()
	if st, m := tokenCall(t, srv, form); st != 400 || m["error"] != "unauthorized_client" {
		t.Fatalf("fail/disabled: %d %v", st, m["error"])
	}
}

// TestUnroutedPaths: a path no API answers gets its family's JSON error, not a text page.
func TestUnroutedPaths(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	for path, want := range map[string]int{"/no/such/api": 404, "/v1.0/noSuchCollection": 401} {
		resp, err := srv.Client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]map[string]any
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != want || err != nil || m["error"]["code"] == nil || m["error"]["message"] == "" {
			t.Errorf("%s: %d %v (%v), want %d with an error code and message", path, resp.StatusCode, m, err, want)
		}
	}
}
