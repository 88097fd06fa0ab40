package httpapi

import (
	"net/http"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/webui"
)

// webRoutes registers the pages people use in a browser: sign-in, security info, sessions
// and sign-out, and the one script they need for passkeys. The authorization endpoint and
// /devicelogin are registered with the token service and use the same sign-in flow.
func (s *Server) webRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/{name}", webui.ServeStatic)
	mux.HandleFunc("GET /login", s.page(s.handleLogin))
	mux.HandleFunc("POST /login", s.page(s.handleLogin))
	mux.HandleFunc("POST /login/passkey/options", s.page(s.handlePasskeyLoginOptions))
	mux.HandleFunc("GET /logout", s.page(s.handleLogout))
	mux.HandleFunc("POST /logout", s.page(s.handleLogout))
	mux.HandleFunc("GET /sessions", s.signedIn(s.handleSessions))
	mux.HandleFunc("POST /sessions/{id}/delete", s.signedIn(s.handleSessionDelete))
	mux.HandleFunc("GET /security-info", s.signedIn(s.handleSecurityInfo))
	mux.HandleFunc("GET /security-info/password", s.signedIn(s.handlePassword))
	mux.HandleFunc("POST /security-info/password", s.signedIn(s.handlePassword))
	mux.HandleFunc("POST /security-info/passkeys/options", s.signedIn(s.recent(s.handlePasskeyRegisterOptions)))
	mux.HandleFunc("POST /security-info/passkeys", s.signedIn(s.recent(s.handlePasskeyRegister)))
	mux.HandleFunc("POST /security-info/passkeys/{id}/rename", s.signedIn(s.handlePasskeyRename))
	mux.HandleFunc("POST /security-info/passkeys/{id}/delete", s.signedIn(s.recent(s.handlePasskeyDelete)))
	mux.HandleFunc("POST /security-info/totp", s.signedIn(s.recent(s.handleTOTPStart)))
	mux.HandleFunc("POST /security-info/totp/{id}/confirm", s.signedIn(s.recent(s.handleTOTPConfirm)))
	mux.HandleFunc("POST /security-info/totp/{id}/delete", s.signedIn(s.recent(s.handleTOTPDelete)))
	s.deviceKeyRoutes(mux)
	s.hostConsentRoutes(mux) // web_hostconsent.go
}

// recentAuth is how long after signing in a person may add or remove sign-in methods
// without signing in again (ASVS 3.7: re-authenticate before changing factors).
const recentAuth = 15 * time.Minute

// recent refuses changes to sign-in methods when the sign-in is older than recentAuth, and
// sends the person to sign in again first.
func (s *Server) recent(h webHandler) webHandler {
	return func(c *webCtx) error {
		if s.now().Sub(c.sess.AuthTime) <= recentAuth {
			return h(c)
		}
		if c.r.Header.Get(csrfHeader) != "" { // a script's request: it shows the message
			return errs.E("httpapi.recent", errs.Unauthenticated, "For your security, sign in again before changing your sign-in methods.")
		}
		http.Redirect(c.w, c.r, "/login?prompt=login&return=%2Fsecurity-info", http.StatusSeeOther)
		return nil
	}
}

// handleLogin signs a person in for the portal's own pages and sends them back to where
// they were going (a path on this server only).
func (s *Server) handleLogin(c *webCtx) error {
	ret := localPath(c.r.FormValue("return"))
	if c.sess.signedIn() && c.r.FormValue("prompt") != "login" && c.r.Method == http.MethodGet {
		http.Redirect(c.w, c.r, ret, http.StatusSeeOther)
		return nil
	}
	tid := s.HomeTenantID
	if c.sess.pending() {
		tid = c.sess.TenantID
	}
	t, err := s.Store.GetTenant(c.r.Context(), tid)
	if err != nil {
		return err
	}
	f := signInFlow{Tenant: t, Action: "/login", Hidden: map[string]string{"return": ret}}
	if _, ok := f.run(c); ok {
		http.Redirect(c.w, c.r, ret, http.StatusSeeOther)
	}
	return nil
}
