package httpapi

import (
	"context"
	"net/http"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// signInFlow is the sign-in a page needs before it can go on: the authorization endpoint,
// the device-code page, or /login for the portal's own pages. Every step posts back to Action
// with Hidden, so the page that asked for the sign-in continues once it is done.
//
// Steps: start (a passkey, or a user name and "Next"), password (password or Temporary Access
// Pass), then, when the account needs them, changepassword and otp on a half-signed-in session.
type signInFlow struct {
	Tenant    directory.Tenant
	Action    string
	Hidden    map[string]string
	App       string
	LoginHint string
	CanCancel bool
	// PasskeyOnly offers only the passkey from the first step: the request's claims ask for a
	// strength nothing else satisfies (web_claims.go).
	PasskeyOnly bool
}

// signInPage is the sign-in template's data.
type signInPage struct {
	Action    string
	Hidden    map[string]string
	Step      string // start, password, otp, changepassword
	App       string
	LoginHint string
	TenantID  string
	CanCancel bool
	Passkeys  bool // the origin allows WebAuthn (a name, not an IP address)
	// PasskeyOnly is a Conditional Access step-up that only a passkey satisfies: the page
	// offers nothing else (web_stepup.go).
	PasskeyOnly bool
}

// run handles one request of the flow. It returns true with the session when the person is
// fully signed in, and the caller goes on; otherwise it has answered with the next step.
func (f signInFlow) run(c *webCtx) (webSession, bool) {
	if c.r.Method != http.MethodPost {
		f.showCurrent(c)
		return webSession{}, false
	}
	switch c.r.PostForm.Get("step") {
	case "start":
		f.startStep(c)
	case "passkey":
		return f.passkeyStep(c)
	case "password":
		return f.passwordStep(c)
	case pendingOTP:
		return f.otpStep(c)
	case pendingChangePassword:
		return f.changePasswordStep(c)
	default:
		f.showCurrent(c)
	}
	return webSession{}, false
}

// showCurrent shows the pending step of a half-signed-in session of this tenant, else the
// first step.
func (f signInFlow) showCurrent(c *webCtx) {
	if c.sess.pending() && c.sess.TenantID == f.Tenant.ID {
		f.show(c, c.sess.Pending, f.LoginHint, nil)
		return
	}
	f.show(c, "start", f.LoginHint, nil)
}

// show renders step, with err above the form when there is one.
func (f signInFlow) show(c *webCtx, step, hint string, err error) {
	p := signInPage{Action: f.Action, Hidden: f.Hidden, Step: step, App: f.App, LoginHint: hint,
		TenantID: f.Tenant.ID, CanCancel: f.CanCancel, Passkeys: c.s.passkeysUsable(), PasskeyOnly: f.PasskeyOnly && step == "start"}
	title := map[string]string{"start": "Sign in", "password": "Enter password", pendingOTP: "Enter code",
		pendingChangePassword: "Update your password"}[step]
	if err == nil {
		c.render(http.StatusOK, "signin", title, p)
		return
	}
	status := statusOf(errs.KindOf(err))
	if status >= 500 && errs.KindOf(err) != errs.Unavailable {
		status = http.StatusInternalServerError
	}
	c.renderErr(status, "signin", title, p, err)
}

// startStep moves from the user name to the password page ("Next", or "Use another way").
func (f signInFlow) startStep(c *webCtx) {
	upn := c.r.PostForm.Get("username")
	if upn == "" && c.r.PostForm.Get("way") == "" {
		f.show(c, "start", "", errs.E("httpapi.startStep", errs.Invalid, "Enter your user name, or sign in with a passkey."))
		return
	}
	f.show(c, "password", truncate(upn, 256), nil)
}

// passwordStep checks a password or Temporary Access Pass and decides what comes next: a
// temporary password must be changed, per-user MFA needs a code, else the person is in.
func (f signInFlow) passwordStep(c *webCtx) (webSession, bool) {
	upn := c.r.PostForm.Get("username")
	u, proof, err := c.s.signIn(c.r.Context(), f.Tenant, upn, c.r.PostForm.Get("credential"), clientAddress(c.r))
	if err != nil {
		if errs.KindOf(err) != errs.Invalid { // a form left empty is no sign-in attempt
			c.s.logPageFailure(c.r, f, upn, authn.MethodPassword, err) // signin_log.go
		}
		f.show(c, "password", truncate(upn, 256), err)
		return webSession{}, false
	}
	next, err := c.s.nextStep(c.r.Context(), u, proof)
	if err != nil {
		f.show(c, "password", truncate(upn, 256), err)
		return webSession{}, false
	}
	return f.advance(c, u, proof, next)
}

// advance re-keys the session for what has been proven and shows the next step, if any.
func (f signInFlow) advance(c *webCtx, u directory.User, p signInProof, next string) (webSession, bool) {
	sess, err := c.s.startSession(c.w, c.r, c.sess, sessionGrant{TenantID: u.TenantID, UserID: u.ID,
		AMR: p.AMR, Methods: p.Methods, Pending: next, AuthTime: p.AuthTime})
	if err != nil {
		f.show(c, "start", "", err)
		return webSession{}, false
	}
	c.sess = sess
	if next != "" {
		f.show(c, next, u.UserPrincipalName, nil)
		return webSession{}, false
	}
	return sess, true
}

// nextStep is what a sign-in still needs. A temporary password is changed first, whatever
// the first factor was (the browser is the one place it can be changed, so every other way in
// is refused until it is); after a password, per-user MFA asks for a code. A passkey or a
// Temporary Access Pass is strong on its own.
func (s *Server) nextStep(ctx context.Context, u directory.User, p signInProof) (string, error) {
	if mustChangePassword(u) {
		return pendingChangePassword, nil
	}
	if !containsString(p.Methods, authn.MethodPassword) {
		return "", nil
	}
	return s.mfaStep(ctx, u)
}

// mfaStep asks for a code when the user's per-user MFA state requires a second factor.
func (s *Server) mfaStep(ctx context.Context, u directory.User) (string, error) {
	if u.MFA != directory.MFAEnabled && u.MFA != directory.MFAEnforced {
		return "", nil
	}
	apps, err := s.confirmedTOTP(ctx, u)
	if err != nil {
		return "", err
	}
	if len(apps) == 0 {
		return "", errs.E("httpapi.mfaStep", errs.PermissionDenied, errs.Code("interaction_required"),
			"Your organization requires a second sign-in factor, and you have none registered. Sign in with a passkey or a Temporary Access Pass from your administrator, then add an authenticator app under Security info.")
	}
	return pendingOTP, nil
}

// confirmedTOTP lists the authenticator apps that may be used to sign in: those whose first
// code was entered at enrolment.
func (s *Server) confirmedTOTP(ctx context.Context, u directory.User) ([]authn.TOTPMethod, error) {
	all, err := s.methods().ListTOTP(ctx, u.TenantID, u.ID)
	if err != nil {
		return nil, err
	}
	var out []authn.TOTPMethod
	for _, m := range all {
		if m.Confirmed {
			out = append(out, m)
		}
	}
	return out, nil
}
