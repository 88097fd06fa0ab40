package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/latchsh/latch/errs"
)

// Cross-site request forgery. Every state-changing request of the pages carries a token that
// only a page of this server can know: derived from the session cookie's raw value once there
// is a session, else from a pre-session cookie (double submit), so that sign-in forms are
// protected too (login CSRF). Both cookies are HttpOnly and never readable by script on
// another site. The Origin and Sec-Fetch-Site headers, which browsers set and pages cannot
// forge, are checked as well.
const (
	csrfCookie = "__Host-latch-csrf"
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// csrfToken is the token forms of this request's page must carry. With no session, it makes
// sure the pre-session cookie exists (setting it on w if needed).
func (c *webCtx) csrfToken() string {
	if c.sess.raw != "" {
		return deriveCSRF("session", c.sess.raw)
	}
	if c.preCSRF == "" {
		c.preCSRF = randomToken()
		http.SetCookie(c.w, &http.Cookie{Name: csrfCookie, Value: c.preCSRF, Path: "/", Secure: true,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	return deriveCSRF("pre", c.preCSRF)
}

// deriveCSRF hashes the cookie value with a label, so the token in the page never equals a
// cookie value (a leaked page does not leak the session).
func deriveCSRF(label, raw string) string {
	sum := sha256.Sum256([]byte("latch-csrf|" + label + "|" + raw))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkCSRF refuses a state-changing request that did not come from one of this server's
// pages: a cross-site Origin or Sec-Fetch-Site, or a missing or wrong token.
func (c *webCtx) checkCSRF() error {
	const op = "httpapi.checkCSRF"
	if !c.s.sameOrigin(c.r) {
		return errs.E(op, errs.PermissionDenied, "This request came from another site and was refused.")
	}
	got := c.r.Header.Get(csrfHeader)
	if got == "" {
		got = c.r.PostFormValue(csrfField)
	}
	var want string
	switch {
	case c.sess.raw != "":
		want = deriveCSRF("session", c.sess.raw)
	case c.preCSRF != "":
		want = deriveCSRF("pre", c.preCSRF)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errs.E(op, errs.PermissionDenied, "This page has expired or was not opened from this site. Go back, reload the page and try again.")
	}
	return nil
}

// sameOrigin is false when the browser says the request came from another site. Requests
// without these headers (non-browser clients) are left to the token check. "Origin: null"
// (sent under some referrer policies) is accepted only when Sec-Fetch-Site vouches for it.
func (s *Server) sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	switch site {
	case "", "same-origin", "none":
	default:
		return false
	}
	switch o := r.Header.Get("Origin"); o {
	case "", s.origin():
		return true
	case "null":
		return site == "same-origin"
	}
	return false
}

// origin is this server's scheme://host[:port], as browsers send it in Origin.
func (s *Server) origin() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return s.URL
	}
	return u.Scheme + "://" + u.Host
}
