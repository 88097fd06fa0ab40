package webui

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
)

//go:embed templates/*.html
var files embed.FS

var pages = template.Must(template.ParseFS(files, "templates/*.html"))

// Page is what every page shows around its own content.
type Page struct {
	Title         string
	Error         string // a sentence the person can act on
	CorrelationID string // shown with errors so support can find the log line
	Data          any    // the page's own fields
	Nonce         string // set by Render: the one inline script a page may carry must have it
}

// Render writes page name (a template file's base name without .html) with status, and the
// security headers every page needs. A template failure is a programming error: it answers
// 500 with no partial page.
func Render(w http.ResponseWriter, status int, name string, p Page) {
	p.Nonce = nonce()
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name+".html", p); err != nil {
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+p.Nonce+"'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self' http://localhost:* http://127.0.0.1:* https:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// nonce is a fresh value for the Content-Security-Policy's script-src, so that only the
// script the template put there runs, never one injected into the page.
func nonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return base64.RawStdEncoding.EncodeToString(b[:])
}
