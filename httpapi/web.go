package httpapi

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/webui"
)

// webCtx is one request to the web pages: the session it presented and what its response
// needs to carry (the pre-session CSRF cookie).
type webCtx struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	sess    webSession
	preCSRF string
	user    directory.User // set for signed-in pages
}

// webHandler is a page's handler; an error it returns is shown as a page.
type webHandler func(c *webCtx) error

func (s *Server) newWebCtx(w http.ResponseWriter, r *http.Request) *webCtx {
	c := &webCtx{s: s, w: w, r: r, sess: s.loadSession(r)}
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 43 {
		c.preCSRF = ck.Value
	}
	return c
}

// page serves a page any visitor may open. POSTs must pass the CSRF checks before h runs.
func (s *Server) page(h webHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.newWebCtx(w, r)
		if err := c.parsePost(); err != nil {
			c.fail(err)
			return
		}
		if err := h(c); err != nil {
			c.fail(err)
		}
	}
}

// signedIn serves a page only to a fully signed-in person. A half-signed-in session is sent
// to its pending step and reaches nothing else (ASVS 3.7); no session is sent to sign in.
func (s *Server) signedIn(h webHandler) http.HandlerFunc {
	return s.page(func(c *webCtx) error {
		if !c.sess.signedIn() {
			return c.toSignIn()
		}
		u, err := s.Store.GetUser(c.r.Context(), c.sess.TenantID, c.sess.UserID)
		if err != nil || !u.AccountEnabled {
			s.endSession(c.r.Context(), c.w, c.sess)
			return errs.E("httpapi.signedIn", errs.Unauthenticated, "Your account is disabled or no longer exists.")
		}
		c.user = u
		return h(c)
	})
}

// toSignIn sends a person without a full session to the sign-in page (which shows the
// pending step of a half-signed-in session), coming back here after. A POST is refused
// outright: what it asked for is not replayed after signing in.
func (c *webCtx) toSignIn() error {
	if c.r.Method != http.MethodGet {
		return errs.E("httpapi.toSignIn", errs.Unauthenticated, "You are not signed in, or your session has ended. Sign in and try again.")
	}
	http.Redirect(c.w, c.r, "/login?return="+url.QueryEscape(c.r.URL.RequestURI()), http.StatusSeeOther)
	return nil
}

// parsePost reads a POST's form and checks that it came from one of our pages.
func (c *webCtx) parsePost() error {
	if c.r.Method != http.MethodPost {
		return nil
	}
	if err := parseForm(c.w, c.r); err != nil {
		return err
	}
	return c.checkCSRF()
}

// render shows a page with what every page needs: the CSRF token, and who is signed in.
func (c *webCtx) render(status int, name, title string, data any) {
	p := webui.Page{Title: title, Data: data, CSRF: c.csrfToken()}
	if c.sess.signedIn() && c.user.ID != "" {
		p.User = c.user.UserPrincipalName
	}
	webui.Render(c.w, status, name, p)
}

// renderErr shows a page with an error message above its form.
func (c *webCtx) renderErr(status int, name, title string, data any, err error) {
	c.s.logError(c.r, err, errs.KindOf(err))
	p := webui.Page{Title: title, Data: data, CSRF: c.csrfToken(), Error: userMessage(err),
		CorrelationID: CorrelationID(c.r.Context())}
	webui.Render(c.w, status, name, p)
}

// fail shows a refusal as a page of its own.
func (c *webCtx) fail(err error) {
	c.s.logError(c.r, err, errs.KindOf(err))
	webui.Render(c.w, statusOf(errs.KindOf(err)), "message", webui.Page{Title: "Sorry, that didn't work",
		Error: userMessage(err), CorrelationID: CorrelationID(c.r.Context()), CSRF: c.csrfToken()})
}

// message shows a short confirmation.
func (c *webCtx) message(title, text string) {
	c.render(http.StatusOK, "message", title, text)
}

// userMessage is the sentence a person sees; our own faults are never described.
func userMessage(err error) string {
	if errs.KindOf(err) == errs.Internal {
		return "Something went wrong on our side. Try again; if it keeps happening, give your support person the correlation ID below."
	}
	return errs.Message(err)
}

// passkeys is the WebAuthn relying party for this server's own origin. The RP ID is the
// host name, so passkeys work on any port of it.
func (s *Server) passkeys() (*authn.Passkeys, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, errs.E("httpapi.passkeys", errs.Internal, err)
	}
	return authn.NewPasskeys(authn.PasskeyConfig{RPID: strings.ToLower(u.Hostname()), RPDisplayName: "Latch",
		Origins: []string{s.origin()}}, s.methods(), s.now)
}

// passkeysUsable is false when the server is reached by an IP address, which WebAuthn
// refuses as a relying party id; the pages then offer only the other ways to sign in.
func (s *Server) passkeysUsable() bool {
	u, err := url.Parse(s.URL)
	return err == nil && u.Hostname() != "" && net.ParseIP(u.Hostname()) == nil
}

// localPath accepts only a path on this server as a place to return to after signing in,
// so the sign-in page is no open redirector.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/security-info"
	}
	return p
}
