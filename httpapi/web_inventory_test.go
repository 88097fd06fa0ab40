package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/latchsh/latch/testenv"
)

// TestHalfSignedInReachesNothing walks every registered route with a half-signed-in session
// (password accepted, code due), a valid CSRF token and same-origin headers, and checks that
// it gets nothing an anonymous visitor would not: a refusal, a redirect to the pending step,
// or the same answer as anonymous (public documents, the sign-in pages showing the step).
func TestHalfSignedInReachesNothing(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	pending, u, _, step := pendingBrowser(t, srv, "ivy")
	anon := srv.Browser()
	anonCSRF := page(t, anon, http.MethodGet, srv.URL+"/login", nil).CSRF
	patterns := srv.API.RoutePatterns()
	if len(patterns) < 50 {
		t.Fatalf("found only %d routes: the mux walk is broken", len(patterns))
	}
	// The pending step itself is what /login shows.
	if p := page(t, pending, http.MethodGet, srv.URL+"/login", nil); !strings.Contains(p.Body, `name="step" value="otp"`) {
		t.Fatalf("/login does not show the pending code step")
	}
	// Signing out ends the session (as it may); it goes last so every other route sees it.
	sort.SliceStable(patterns, func(i, j int) bool {
		return !strings.HasSuffix(patterns[i], "/logout") && strings.HasSuffix(patterns[j], "/logout")
	})
	cookie := sessionValue(pending, srv)
	for _, pat := range patterns {
		method, path := routeRequest(pat, srv.TenantID)
		t.Run(pat, func(t *testing.T) {
			if sessionValue(pending, srv) != cookie {
				t.Fatalf("an earlier route changed the pending session")
			}
			got := send(t, pending, method, srv.URL+path, step.CSRF)
			want := send(t, anon, method, srv.URL+path, anonCSRF)
			if strings.Contains(got.Location, "code=") || strings.Contains(got.Body, u.ID) {
				t.Fatalf("a half-signed-in session got a code or the user's data: %d %q", got.Status, got.Location)
			}
			switch {
			case got.Status >= 400:
			case got.Status >= 300 && strings.HasPrefix(got.Location, "/login"):
			case got.Status == want.Status:
			default:
				t.Fatalf("half-signed-in: %d %q; anonymous: %d", got.Status, got.Location, want.Status)
			}
		})
	}
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// routeRequest turns a pattern into a concrete request: the tenant segment names the real
// tenant, other wildcards a made-up id.
func routeRequest(pattern, tenantID string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{tenant}", tenantID)
	return method, wildcard.ReplaceAllString(path, "00000000-0000-4000-8000-000000000000")
}

type answer struct {
	Status   int
	Location string
	Body     string
}

func send(t *testing.T, c *http.Client, method, u, csrf string) answer {
	t.Helper()
	form := url.Values{"csrf": {csrf}, "step": {"start"}}
	req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", strings.Join(strings.SplitN(u, "/", 4)[:3], "/"))
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return answer{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b)}
}
