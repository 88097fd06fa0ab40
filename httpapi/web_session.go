package httpapi

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// Browser sessions (ASVS 4.0.3 V3). The cookie holds a 256-bit random value; the store keys
// the session by its hash, so a copy of the database signs nobody in. A session is re-keyed
// at every sign-in step, so a value planted before sign-in (fixation) is worthless after it.
const (
	sessionCookie   = "__Host-latch-session"
	sessionIdle     = time.Hour      // re-authenticate after an hour without a request (3.3.2)
	sessionAbsolute = 12 * time.Hour // and 12 hours after signing in, whatever the activity
	// sessionTouchEvery limits writes: LastSeen moves only when it is this much behind.
	sessionTouchEvery = time.Minute
)

// Pending steps of a half-signed-in session: the first factor is done and only this page may
// be used until it is.
const (
	pendingOTP            = "otp"
	pendingChangePassword = "changepassword"
)

// webSession is the session a request presented, with the raw cookie value the CSRF token is
// derived from. A zero webSession (ID "") means no valid session.
type webSession struct {
	authn.Session
	raw string
}

func (w webSession) signedIn() bool { return w.ID != "" && w.Pending == "" }
func (w webSession) pending() bool  { return w.ID != "" && w.Pending != "" }

// methods is the store of sessions and authentication methods.
func (s *Server) methods() store.AuthMethodStore { return s.Store }

// loadSession finds the request's session. Unknown, expired and idle sessions count as none;
// expired ones are deleted on sight. LastSeen is moved forward at most once a minute.
func (s *Server) loadSession(r *http.Request) webSession {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) != 43 {
		return webSession{}
	}
	id := hashSecret(c.Value)
	sess, err := s.methods().GetSession(r.Context(), id)
	if err != nil {
		return webSession{}
	}
	now := s.now()
	if now.After(sess.Expires) || now.Sub(sess.LastSeen) > sessionIdle {
		s.methods().DeleteSession(r.Context(), id)
		return webSession{}
	}
	if now.Sub(sess.LastSeen) >= sessionTouchEvery {
		if upd, err := s.methods().UpdateSession(r.Context(), id, func(cur authn.Session) (authn.Session, error) {
			cur.LastSeen = now
			return cur, nil
		}); err == nil {
			sess = upd
		}
	}
	return webSession{Session: sess, raw: c.Value}
}

// sessionGrant is what a sign-in step established about the person.
type sessionGrant struct {
	TenantID string
	UserID   string
	AMR      []string
	Methods  []string
	Pending  string
	AuthTime time.Time
}

// startSession replaces the request's session (if any) with a new one for g under a new
// cookie value. Every sign-in step calls it, pending or complete, so the session id changes
// whenever what the session proves changes.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, old webSession, g sessionGrant) (webSession, error) {
	if old.ID != "" {
		if err := s.methods().DeleteSession(r.Context(), old.ID); err != nil && !errs.Is(err, errs.NotFound) {
			return webSession{}, err
		}
	}
	raw := randomToken()
	now := s.now()
	sess := authn.Session{ID: hashSecret(raw), TenantID: g.TenantID, UserID: g.UserID, AMR: g.AMR,
		Methods: g.Methods, Pending: g.Pending, AuthTime: g.AuthTime, Created: now, LastSeen: now,
		Expires: now.Add(sessionAbsolute), UserAgent: truncate(r.UserAgent(), 200), Address: clientAddress(r)}
	if g.Pending != "" {
		// A half-signed-in session lives only as long as a person needs to type a code.
		sess.Expires = now.Add(10 * time.Minute)
	}
	if err := s.methods().CreateSession(r.Context(), sess); err != nil {
		return webSession{}, err
	}
	setSessionCookie(w, raw, sess.Expires.Sub(now))
	return webSession{Session: sess, raw: raw}, nil
}

// endSession deletes the session server-side, so the cookie is worthless even if the browser
// keeps it, and tells the browser to drop it.
func (s *Server) endSession(ctx context.Context, w http.ResponseWriter, sess webSession) error {
	clearSessionCookie(w)
	if sess.ID == "" {
		return nil
	}
	if err := s.methods().DeleteSession(ctx, sess.ID); err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	return nil
}

// setSessionCookie writes the cookie with the attributes ASVS 3.4 asks for. __Host- makes the
// browser refuse it unless it is Secure, has Path=/ and no Domain. SameSite=Lax (not Strict)
// because the authorization endpoint is reached by top-level navigation from other sites.
func setSessionCookie(w http.ResponseWriter, raw string, life time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: raw, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(life.Seconds())})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// clientAddress is the peer's address without the port, for the sessions page and lockout.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
