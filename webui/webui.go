package webui

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"path"
	"strings"
)

//go:embed templates/*.html static/*
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": when, "browser": browser, "methods": methodNames,
}).ParseFS(files, "templates/*.html"))

// Page is what every page shows around its own content.
type Page struct {
	Title         string
	Error         string // a sentence the person can act on
	CorrelationID string // shown with errors so support can find the log line
	Data          any    // the page's own fields
	Nonce         string // set by Render: the one inline script a page may carry must have it
	CSRF          string // the token every form that changes something must carry
	User          string // who is signed in (their UPN), for the header; "" on sign-in pages
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
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'nonce-"+p.Nonce+"'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self' http://localhost:* http://127.0.0.1:* https:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // no-referrer would make browsers send "Origin: null" on our own forms
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
	return base64.RawURLEncoding.EncodeToString(b[:]) // no "+" or "/" for templates to escape
}

// ServeStatic serves the pages' embedded script and style files (GET /static/{name}). They
// change only with the binary, so browsers may keep them for an hour.
func ServeStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	body, err := files.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	ctype := "application/octet-stream"
	switch path.Ext(name) {
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(body)
}
