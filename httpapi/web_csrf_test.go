package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchsh/latch/testenv"
)

func TestCSRFRefusals(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	c, _ := signedInBrowser(t, srv, "gus")
	info := page(t, c, http.MethodGet, srv.URL+"/security-info", nil)
	post := func(form url.Values, header map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/security-info/totp", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := url.Values{"csrf": {info.CSRF}}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header map[string]string
		want   int
	}{
		{"fail/no-token", url.Values{}, nil, 403},
		{"fail/wrong-token", url.Values{"csrf": {strings.Repeat("x", 43)}}, nil, 403},
		{"fail/pre-session-token-after-sign-in", url.Values{"csrf": {page(t, srv.Browser(), http.MethodGet, srv.URL+"/login", nil).CSRF}}, nil, 403},
		{"fail/cross-site-origin", good, map[string]string{"Origin": "https://evil.example"}, 403},
		{"fail/cross-site-fetch", good, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"fail/same-site-sibling", good, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"fail/null-origin-without-fetch-site", good, map[string]string{"Origin": "null"}, 403},
		{"ok/token-and-same-origin", good, map[string]string{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.form, tc.header); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// Signing someone in to the attacker's account (login CSRF) needs the same token.
func TestLoginCSRF(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := testenv.CreateUser(t, srv, "hal", webPassword)
	form := url.Values{"step": {"password"}, "username": {u.UserPrincipalName}, "credential": {webPassword}}
	if p := page(t, srv.Browser(), http.MethodPost, srv.URL+"/login", form); p.Status != http.StatusForbidden {
		t.Fatalf("fail/no-token: %d", p.Status)
	}
	c := srv.Browser()
	first := page(t, c, http.MethodGet, srv.URL+"/login", nil)
	form.Set("csrf", first.CSRF)
	if p := page(t, srv.Browser(), http.MethodPost, srv.URL+"/login", form); p.Status != http.StatusForbidden {
		t.Fatalf("fail/token-without-its-cookie: %d", p.Status)
	}
	if p := page(t, c, http.MethodPost, srv.URL+"/login", form); p.Status != http.StatusSeeOther {
		t.Fatalf("ok/token-with-cookie: %d %s", p.Status, p.Error())
	}
}
