package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// inner stands for a handler with its own mux that passes a copy of the request on, as the
// API server does with its correlation middleware.
func inner(note bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(r.Context())
		mux.ServeHTTP(w, r)
		if note {
			NotePattern(r)
		}
	})
}

func server(m *Metrics, note bool) http.Handler {
	outer := http.NewServeMux()
	outer.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	outer.HandleFunc("GET /silent", func(w http.ResponseWriter, r *http.Request) {})
	outer.Handle("/", inner(note))
	return m.Middleware(outer)
}

// scrape returns the /metrics page.
func scrape(m *Metrics) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// count returns the request counter's value for route and code, from the page as scraped.
func count(page, route, code string) string {
	prefix := `latch_http_requests_total{code="` + code + `",route="` + route + `"} `
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return "absent"
}

func serve(h http.Handler, method, path string) {
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
}

func TestRouteLabels(t *testing.T) {
	m := New()
	h := server(m, true)
	serve(h, "GET", "/healthz")
	serve(h, "GET", "/silent")
	for _, tenant := range []string{"a", "b", "c"} {
		serve(h, "GET", "/"+tenant+"/oauth2/v2.0/token")
	}
	serve(h, "GET", "/no/such/thing")
	tests := []struct{ route, code, want string }{
		{"GET /healthz", "200", "1"},
		{"GET /silent", "200", "1"},
		{"GET /{tenant}/oauth2/v2.0/token", "400", "3"},
		{"/", "404", "1"}, // the outer catch-all: the inner mux matched nothing, nothing noted
	}
	page := scrape(m)
	for _, tt := range tests {
		if got := count(page, tt.route, tt.code); got != tt.want {
			t.Errorf("requests{route=%q,code=%s} = %s, want %s", tt.route, tt.code, got, tt.want)
		}
	}
	if n := strings.Count(page, "\nlatch_http_requests_total{"); n != len(tests) {
		t.Errorf("%d request series, want %d: raw paths must not become labels", n, len(tests))
	}
}

func TestRouteWithoutNoteFallsBackToOuterPattern(t *testing.T) {
	m := New()
	serve(server(m, false), "GET", "/x/oauth2/v2.0/token")
	if got := count(scrape(m), "/", "400"); got != "1" {
		t.Fatalf("requests{route=/} = %s, want 1", got)
	}
}

func TestUnmatchedWithoutMux(t *testing.T) {
	m := New()
	h := m.Middleware(http.NotFoundHandler())
	serve(h, "GET", "/anything")
	if got := count(scrape(m), Unmatched, "404"); got != "1" {
		t.Fatalf("requests{route=unmatched,code=404} = %s, want 1", got)
	}
}

func TestHandlerExposesRuntimeAndRequests(t *testing.T) {
	m := New()
	serve(server(m, true), "GET", "/healthz")
	body := scrape(m)
	for _, want := range []string{
		`latch_http_requests_total{code="200",route="GET /healthz"} 1`,
		`latch_http_request_duration_seconds_bucket{code="200",route="GET /healthz",le="+Inf"} 1`,
		"go_goroutines", "process_start_time_seconds",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestNotePatternOutsideMeasuredRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Pattern = "GET /"
	NotePattern(r) // must not panic
}
