package httpapi

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/latchsh/latch/errs"
)

// sessionRow is one line of the sessions page.
type sessionRow struct {
	Ref       string // the session's key (a hash of the cookie, useless as a cookie itself)
	Current   bool
	Created   time.Time
	LastSeen  time.Time
	UserAgent string
	Address   string
	Methods   []string
}

// handleSessions lists the person's sessions, this one first, each with a sign-out button
// (ASVS 3.3.4).
func (s *Server) handleSessions(c *webCtx) error {
	list, err := s.methods().ListSessions(c.r.Context(), c.sess.TenantID, c.sess.UserID)
	if err != nil {
		return err
	}
	now := s.now()
	rows := []sessionRow{}
	for _, x := range list {
		if x.Pending != "" || now.After(x.Expires) || now.Sub(x.LastSeen) > sessionIdle {
			continue
		}
		rows = append(rows, sessionRow{Ref: x.ID, Current: x.ID == c.sess.ID, Created: x.Created, LastSeen: x.LastSeen,
			UserAgent: x.UserAgent, Address: x.Address, Methods: x.Methods})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Current != rows[j].Current {
			return rows[i].Current
		}
		return rows[i].LastSeen.After(rows[j].LastSeen)
	})
	c.render(http.StatusOK, "sessions", "Your sessions", rows)
	return nil
}

// handleSessionDelete ends one of the person's own sessions; ending the current one signs out.
func (s *Server) handleSessionDelete(c *webCtx) error {
	const op = "httpapi.handleSessionDelete"
	ref := c.r.PathValue("id")
	if ref == c.sess.ID {
		return s.handleLogout(c)
	}
	target, err := s.methods().GetSession(c.r.Context(), ref)
	if err != nil || target.TenantID != c.sess.TenantID || target.UserID != c.sess.UserID {
		return errs.E(op, errs.NotFound, "That session has ended already.")
	}
	if err := s.methods().DeleteSession(c.r.Context(), ref); err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	http.Redirect(c.w, c.r, "/sessions", http.StatusSeeOther)
	return nil
}

// handleLogout ends the session on the server, so the cookie is worthless even if kept.
func (s *Server) handleLogout(c *webCtx) error {
	if c.r.Method != http.MethodPost {
		c.render(http.StatusOK, "signout", "Sign out", nil)
		return nil
	}
	if err := s.endSession(c.r.Context(), c.w, c.sess); err != nil {
		return err
	}
	c.sess = webSession{}
	c.render(http.StatusOK, "message", "You signed out", "You have signed out of Latch on this browser. You may close this window.")
	return nil
}

// endOtherSessions ends every session of the person but keep.
func (s *Server) endOtherSessions(ctx context.Context, keep webSession) error {
	list, err := s.methods().ListSessions(ctx, keep.TenantID, keep.UserID)
	if err != nil {
		return err
	}
	for _, x := range list {
		if x.ID == keep.ID {
			continue
		}
		if err := s.methods().DeleteSession(ctx, x.ID); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return nil
}
