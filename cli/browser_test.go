package cli

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func browserLoginArgs(h *harness) []string {
	return []string{"login", "--server", h.idp.url(), "--ca-file", h.idp.caFile}
}

func TestBrowserLogin(t *testing.T) {
	h := newHarness(t)
	var opened string
	h.browser = func(ctx context.Context, authURL string) error {
		opened = authURL
		return h.followRedirects(ctx, authURL)
	}
	res := h.run(append(browserLoginArgs(h), "--query", "[0].user.name", "-o", "tsv")...)
	if res.code != 0 || res.stdout != userName+"\n" {
		t.Fatalf("browser login: %+v", res)
	}
	wantMsg := "WARNING: A web browser has been opened at " + h.idp.url() + "/" + homeTenant + "/oauth2/v2.0/authorize. Please continue the login in the web browser. If no web browser is available or if the web browser fails to open, use device code flow with `latch login --use-device-code`.\n"
	if res.stderr != wantMsg {
		t.Errorf("stderr = %q", res.stderr)
	}
	u, _ := url.Parse(opened)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("state")) < 20 || q.Get("nonce") == "" ||
		!strings.HasPrefix(q.Get("redirect_uri"), "http://localhost:") || q.Get("client_id") != cliClientID ||
		q.Get("scope") != h.idp.url()+"/arm//.default openid profile offline_access" {
		t.Errorf("authorization request = %v", q)
	}
}

func TestBrowserLoginRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(h *harness)
		want  string
	}{
		{"fail/state-mismatch", func(h *harness) { h.idp.authorizeHook = func(q url.Values) { q.Set("state", "forged") } },
			"state mismatch"},
		{"fail/state-missing", func(h *harness) { h.idp.authorizeHook = func(q url.Values) { q.Del("state") } },
			"state mismatch"},
		{"fail/iss-mismatch", func(h *harness) {
			h.idp.authorizeHook = func(q url.Values) { q.Set("iss", "https://evil.example/"+homeTenant+"/v2.0") }
		}, "iss mismatch"},
		{"fail/iss-missing", func(h *harness) { h.idp.authorizeHook = func(q url.Values) { q.Del("iss") } },
			"iss mismatch"},
		{"fail/access-denied", func(h *harness) {
			h.idp.authorizeHook = func(q url.Values) {
				q.Del("code")
				q.Set("error", "access_denied")
				q.Set("error_description", "AADSTS50105: not assigned")
			}
		}, "(access_denied) AADSTS50105: not assigned"},
		{"fail/nonce-mismatch", func(h *harness) { h.idp.badNonce = true }, "nonce does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			res := h.run(browserLoginArgs(h)...)
			if res.code != 1 || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %q", res.code, res.stderr, tc.want)
			}
			if g := h.idp.grantLog(); tc.name != "fail/nonce-mismatch" && len(g) != 0 {
				t.Errorf("a refused callback still redeemed the code: %v", g)
			}
			if r := h.run("account", "show"); r.code != 1 {
				t.Error("a refused login saved an account")
			}
		})
	}
}

func TestCheckCallback(t *testing.T) {
	ep := &endpoints{Issuer: "https://latch.test/{tenantid}/v2.0"}
	ar := &authRequest{ep: ep, state: "s1"}
	cases := []struct {
		name string
		q    url.Values
		ok   bool
	}{
		{"ok/placeholder-issuer", url.Values{"state": {"s1"}, "iss": {"https://latch.test/t1/v2.0"}, "code": {"c"}}, true},
		{"fail/issuer-two-segments", url.Values{"state": {"s1"}, "iss": {"https://latch.test/a/b/v2.0"}, "code": {"c"}}, false},
		{"fail/issuer-empty-tenant", url.Values{"state": {"s1"}, "iss": {"https://latch.test//v2.0"}, "code": {"c"}}, false},
		{"fail/no-code", url.Values{"state": {"s1"}, "iss": {"https://latch.test/t1/v2.0"}}, false},
		{"fail/state-prefix", url.Values{"state": {"s"}, "iss": {"https://latch.test/t1/v2.0"}, "code": {"c"}}, false},
	}
	for _, tc := range cases {
		code, err := ar.checkCallback(tc.q)
		if (err == nil) != tc.ok || (tc.ok && code != "c") {
			t.Errorf("%s: code %q, err %v", tc.name, code, err)
		}
	}
}

func TestBrowserUnavailablePrintsURL(t *testing.T) {
	h := newHarness(t)
	h.browser = func(ctx context.Context, authURL string) error {
		// The browser fails to start; the person opens the printed URL by hand.
		go h.followRedirects(ctx, authURL)
		return errors.New("no display")
	}
	res := h.run(browserLoginArgs(h)...)
	if res.code != 0 || !strings.HasPrefix(res.stderr, "To sign in, open this page in a web browser on this computer:\n"+h.idp.url()) {
		t.Errorf("%+v", res)
	}
}

func TestLatchBrowserEnvironment(t *testing.T) {
	a := newApp(nil, nil, nil, func(k string) string {
		return map[string]string{"LATCH_BROWSER": "/bin/true --flag"}[k]
	})
	if a.browser(context.Background()) == nil {
		t.Fatal("LATCH_BROWSER was not used")
	}
	if err := a.browser(context.Background())(context.Background(), "https://x"); err != nil {
		t.Errorf("starting LATCH_BROWSER: %v", err)
	}
	none := newApp(nil, nil, nil, func(string) string { return "" })
	if none.browser(context.Background()) != nil {
		t.Error("a browser was chosen without LATCH_BROWSER or a display")
	}
}
