package cli

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

const phishingClaims = `{"access_token":{"acrs":{"essential":true,"values":["00000000-0000-0000-0000-000000000004"]}}}`

// refuseRefreshOf makes the fake token service refuse refresh token rt with the Conditional
// Access step-up answer (AADSTS50076 and a claims challenge), as the real one does when the
// sign-in behind rt does not meet the policy's strength; rt "" refuses every refresh token.
func refuseRefreshOf(h *harness, rt string) {
	h.idp.mu.Lock()
	defer h.idp.mu.Unlock()
	h.idp.tokenHook = func(form url.Values) map[string]any {
		if form.Get("grant_type") != "refresh_token" || (rt != "" && form.Get("refresh_token") != rt) {
			return nil
		}
		return map[string]any{"error": "interaction_required", "error_codes": []int{aadMFARequired}, "claims": phishingClaims,
			"error_description": "AADSTS50076: " + articleMsg + " The policy 'VM sign-in' (p1) requires more.\r\nTrace ID: t",
			"correlation_id":    "corr-ca"}
	}
}

// runOnTerminal is harness.run for a person at a terminal, who may be asked to sign in again.
func (h *harness) runOnTerminal(args ...string) result {
	h.t.Helper()
	return h.runCtx(WithTerminal, args...)
}

// runCtx is harness.run with the command's context changed by wrap.
func (h *harness) runCtx(wrap func(context.Context) context.Context, args ...string) result {
	h.t.Helper()
	var out, errb strings.Builder
	a := newApp(strings.NewReader(""), &out, &errb, func(k string) string { return h.env[k] })
	a.now = func() time.Time { return h.now }
	a.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if h.browser != nil {
		ctx = WithBrowser(ctx, h.browser)
	}
	code := runApp(wrap(ctx), a, args)
	return result{code, out.String(), errb.String()}
}

func refreshTokenIn(t *testing.T, h *harness) string {
	t.Helper()
	c, err := loadTokens(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	return c.RefreshToken
}

func TestStepUpSignIn(t *testing.T) {
	graph := []string{"account", "get-access-token", "--resource-type", "ms-graph", "--query", "accessToken", "-o", "tsv"}
	cases := []struct {
		name     string
		terminal bool
		env      map[string]string
		setup    func(h *harness)
		flags    []string
		code     int
		want     []string
		grants   []string // after the device code login
	}{
		{name: "fail/no-terminal-no-retry", code: 1,
			want:   []string{articleMsg, "'VM sign-in'", "Sign in again with a passkey: latch login", "Correlation ID: "},
			grants: []string{"refresh_token"}},
		{name: "fail/ci-set-no-retry", terminal: true, env: map[string]string{"CI": "true"}, code: 1,
			want: []string{articleMsg, "latch login"}, grants: []string{"refresh_token"}},
		{name: "fail/only-show-errors-no-retry", terminal: true, flags: []string{"--only-show-errors"}, code: 1,
			want: []string{articleMsg, "latch login"}, grants: []string{"refresh_token"}},
		{name: "fail/step-up-sign-in-fails", terminal: true, code: 1,
			setup: func(h *harness) {
				h.idp.authorizeHook = func(q url.Values) {
					q.Del("code")
					q.Set("error", "access_denied")
					q.Set("error_description", "AADSTS50105: declined")
				}
			},
			want:   []string{"Signing you in again to meet it", "ERROR: " + articleMsg, "Signing in again did not meet it: (access_denied) AADSTS50105: declined"},
			grants: []string{"refresh_token"}},
		{name: "fail/still-refused-after-step-up-retries-once", terminal: true, code: 1,
			setup:  func(h *harness) { refuseRefreshOf(h, "") },
			want:   []string{"Signing you in again to meet it", "ERROR: " + articleMsg},
			grants: []string{"refresh_token", "authorization_code", "refresh_token"}},
		{name: "ok/step-up-then-retry", terminal: true, code: 0,
			want:   []string{articleMsg + " The policy 'VM sign-in' (p1) requires more.\nSigning you in again to meet it …\n"},
			grants: []string{"refresh_token", "authorization_code", "refresh_token"}},
		{name: "ok/step-up-with-device-code-without-browser", terminal: true, code: 0,
			setup:  func(h *harness) { h.browser = nil },
			want:   []string{"Signing you in again to meet it", "enter the code ABCD-EFGH"},
			grants: []string{"refresh_token", deviceGrant, "refresh_token"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.login()
			for k, v := range tc.env {
				h.env[k] = v
			}
			old := refreshTokenIn(t, h)
			refuseRefreshOf(h, old)
			if tc.setup != nil {
				tc.setup(h)
			}
			args := append(append([]string{}, graph...), tc.flags...)
			var res result
			if tc.terminal {
				res = h.runOnTerminal(args...)
			} else {
				res = h.run(args...)
			}
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout %q\nstderr %q", res.code, tc.code, res.stdout, res.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr %q lacks %q", res.stderr, w)
				}
			}
			if g := h.idp.grantLog()[1:]; strings.Join(g, " ") != strings.Join(tc.grants, " ") {
				t.Errorf("grants after login = %v, want %v", g, tc.grants)
			}
			rt := refreshTokenIn(t, h)
			if tc.code != 0 {
				if rt != old && !strings.Contains(strings.Join(tc.grants, " "), "authorization_code") {
					t.Errorf("a failed step-up replaced the refresh token")
				}
				return
			}
			h.idp.mu.Lock()
			retried, aud := h.idp.lastRefreshRT, h.idp.access[strings.TrimSpace(res.stdout)]
			h.idp.mu.Unlock()
			if retried == old || retried == "" {
				t.Errorf("the retried request carried the refused refresh token %q", retried)
			}
			if aud != graphResource(h.idp.url()) {
				t.Errorf("the command printed no Graph token the service issued: %q", res.stdout)
			}
			if r := h.run("account", "show", "--query", "user.name", "-o", "tsv"); r.stdout != userName+"\n" {
				t.Errorf("after the step-up the profile names %q", r.stdout)
			}
		})
	}
}

// TestStepUpSendsClaimsToAuthorize: the browser sign-in asks the server's pages for the
// challenge's claims and for the signed-in account, as Entra clients do.
func TestStepUpSendsClaimsToAuthorize(t *testing.T) {
	h := newHarness(t)
	h.login()
	refuseRefreshOf(h, refreshTokenIn(t, h))
	var opened []string
	h.browser = func(ctx context.Context, authURL string) error {
		opened = append(opened, authURL)
		return h.followRedirects(ctx, authURL)
	}
	if r := h.runOnTerminal("account", "get-access-token", "--resource-type", "ms-graph"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if len(opened) != 1 {
		t.Fatalf("the browser opened %d pages, want 1", len(opened))
	}
	u, _ := url.Parse(opened[0])
	q := u.Query()
	if q.Get("claims") != phishingClaims || q.Get("login_hint") != userName {
		t.Errorf("claims %q, login_hint %q", q.Get("claims"), q.Get("login_hint"))
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("client_id") != cliClientID {
		t.Errorf("authorization request = %v", q)
	}
}

// TestLoginSendsNoHints: a plain "latch login" asks for no claims and names no account.
func TestLoginSendsNoHints(t *testing.T) {
	ar := newAuthRequest(&endpoints{AuthorizationEndpoint: "https://latch.test/t/oauth2/v2.0/authorize"}, 1, "s", signInHints{})
	u, _ := url.Parse(ar.url())
	if q := u.Query(); q.Has("claims") || q.Has("login_hint") {
		t.Errorf("hints in a plain login: %v", q)
	}
}
