package imds

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// maxFuzzInput caps what one fuzz input may carry, as the project caps every parser's input.
const maxFuzzInput = 64 << 10

var fuzzStatuses = []int{200, 400, 401, 403, 404, 405, 429, 500}

// FuzzIMDSQuery sends arbitrary paths, query strings and forms from a local caller. Whatever
// arrives, the service must not panic, redirect, answer a status Azure's IMDS does not use,
// write a JSON body that does not parse, or answer 404 on a token path; and the query parser
// must read its own canonical form back the same.
func FuzzIMDSQuery(f *testing.F) {
	f.Add("/metadata/instance", "api-version=2021-02-01", true, false)
	f.Add(tokenPath, v18+"&"+arm+"&client_id="+userID.ClientID, true, false)
	f.Add("/msi/token", "api-version=2019-08-01&resource=api://x&principal_id=x", false, false)
	f.Add(CloudShellPath, arm, true, true)
	s, _, _ := newTestServer(f, Config{IdentityRate: 1e9, InstanceRate: 1e9}, systemID, userID)
	f.Fuzz(func(t *testing.T, path, query string, metadata, post bool) {
		if len(path)+len(query) > maxFuzzInput {
			t.Skip()
		}
		w := fuzzRequest(s, path, query, metadata, post)
		checkFuzzAnswer(t, w, path)
		checkRoundTrip(t, query)
	})
}

func fuzzRequest(s *Server, path, query string, metadata, post bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://169.254.169.254/", nil)
	r.URL = &url.URL{Path: path, RawQuery: query}
	r.RemoteAddr = "127.0.0.1:40000"
	if metadata {
		r.Header.Set("Metadata", "true")
	}
	r.Header.Set("X-IDENTITY-HEADER", "test-identity-header-secret")
	if post {
		r.Method = http.MethodPost
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Body = ioNopCloser(query)
		r.URL.RawQuery = ""
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

func checkFuzzAnswer(t *testing.T, w *httptest.ResponseRecorder, path string) {
	if !slices.Contains(fuzzStatuses, w.Code) {
		t.Fatalf("status %d for %.200q", w.Code, path)
	}
	if w.Header().Get("Location") != "" {
		t.Fatalf("redirect for %.200q", path)
	}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && !json.Valid(w.Body.Bytes()) {
		t.Fatalf("invalid JSON body %.200q", w.Body)
	}
	if rt, _, found := match(path); found && rt.fam == identityFamily && w.Code == 404 {
		t.Fatalf("404 on identity path %.200q: clients would retry it for a minute", path)
	}
}

// checkRoundTrip: parse → canonical → parse gives the same parameters.
func checkRoundTrip(t *testing.T, query string) {
	q, ok := parseParams(query)
	if !ok || q == nil {
		return
	}
	// url.ParseQuery, not parseParams: escaping may take the canonical form past maxQuery.
	again, err := url.ParseQuery(q.Encode())
	if err != nil || !maps.EqualFunc(q, again, slices.Equal) {
		t.Fatalf("query %.200q → %.200q does not read back the same: %v", query, q.Encode(), err)
	}
}
