package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchsh/latch/directory"
)

// FuzzRedirectAllowed checks the redirect matcher never accepts a URI that is neither a
// registered one nor the registered loopback URI with another port.
func FuzzRedirectAllowed(f *testing.F) {
	for _, s := range []string{"http://localhost", "http://localhost:1234", "http://localhost:1234/", "https://app.example/cb",
		"http://evil@localhost:1", "http://localhost:1/#x", "http://localhost.evil.example:1", "http://127.0.0.1:80/",
		"http://localhost:99999999", "http://LOCALHOST:1", "http://localhost:1/?a=b", "javascript:alert(1)", "//localhost:1"} {
		f.Add(s)
	}
	sp := directory.ServicePrincipal{RedirectURIs: []string{"http://localhost", "https://app.example/cb"}}
	f.Fuzz(func(t *testing.T, uri string) {
		if !redirectAllowed(sp, uri) {
			return
		}
		if uri == "https://app.example/cb" || uri == "http://localhost" {
			return
		}
		u, err := url.Parse(uri)
		if err != nil || u.Scheme != "http" || u.Hostname() != "localhost" || u.User != nil || u.Fragment != "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			t.Fatalf("accepted %q", uri)
		}
	})
}

// FuzzTokenRequest throws arbitrary bodies at the form parser and the client lookup that front
// the token endpoint: no panic, and a refusal is always an OAuth error.
func FuzzTokenRequest(f *testing.F) {
	for _, s := range []string{"grant_type=client_credentials&client_id=x", "a=1&a=2", "%zz", strings.Repeat("a=b&", 100),
		"client_assertion=a.b.c&client_assertion_type=x", "client_assertion=" + strings.Repeat(".", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/x/oauth2/v2.0/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		if err := parseForm(w, r); err != nil {
			if oauthCodeOf(err) != "invalid_request" {
				t.Fatalf("parse error mapped to %q", oauthCodeOf(err))
			}
			return
		}
		assertionIssuer(r.PostForm.Get("client_assertion"))
		authHidden(r.PostForm)
	})
}
