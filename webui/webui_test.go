package webui

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRenderEscapesAndSetsPolicy(t *testing.T) {
	w := httptest.NewRecorder()
	Render(w, 401, "signin", Page{Title: "Sign in", Error: `<script>alert(1)</script>`, CorrelationID: "c-1",
		Data: map[string]any{"Action": "/x", "Hidden": map[string]string{"state": `"><img src=x>`}, "LoginHint": "a@b", "App": "CLI", "CanCancel": false}})
	body := w.Body.String()
	if w.Code != 401 || strings.Contains(body, "<script>alert") || strings.Contains(body, `"><img`) {
		t.Fatalf("fail/injection: status %d, body not escaped:\n%s", w.Code, body)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self' 'nonce-") {
		t.Fatalf("CSP %q", csp)
	}
	w2 := httptest.NewRecorder()
	Render(w2, 200, "formpost", Page{Data: map[string]any{"Action": "http://localhost:1/", "Fields": map[string]string{"code": "c"}}})
	nonce := strings.TrimSuffix(strings.SplitN(strings.SplitN(w2.Header().Get("Content-Security-Policy"), "'nonce-", 2)[1], "'", 2)[0], "'")
	if !strings.Contains(w2.Body.String(), `<script nonce="`+nonce+`">`) {
		t.Fatal("ok/formpost: the script does not carry this response's nonce")
	}
	if w.Header().Get("Content-Security-Policy") == w2.Header().Get("Content-Security-Policy") {
		t.Fatal("fail/nonce-reuse: two responses share a nonce")
	}
}

func TestRenderUnknownPage(t *testing.T) {
	w := httptest.NewRecorder()
	Render(w, 200, "no-such-page", Page{})
	if w.Code != 500 || strings.Contains(w.Body.String(), "<html") {
		t.Fatalf("got %d", w.Code)
	}
}
