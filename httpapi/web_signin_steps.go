package httpapi

import (
	"context"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// passkeyStep verifies the browser's passkey assertion (a discoverable sign-in: the passkey
// names the user). A passkey is phishing-resistant and multifactor on its own.
func (f signInFlow) passkeyStep(c *webCtx) (webSession, bool) {
	ctx := c.r.Context()
	u, err := c.s.finishPasskeyLogin(ctx, f.Tenant.ID, c.r.PostForm.Get("challenge"), c.r.PostForm.Get("assertion"))
	if err != nil {
		f.show(c, "start", "", err)
		return webSession{}, false
	}
	proof := signInProof{UserID: u.ID, AMR: authn.PasskeyAMR(), Methods: []string{authn.MethodFIDO2}, AuthTime: c.s.now()}
	next, err := c.s.nextStep(ctx, u, proof)
	if err != nil {
		f.show(c, "start", "", err)
		return webSession{}, false
	}
	return f.advance(c, u, proof, next)
}

func (s *Server) finishPasskeyLogin(ctx context.Context, tenantID, challenge, assertion string) (directory.User, error) {
	const op = "httpapi.finishPasskeyLogin"
	if challenge == "" || assertion == "" || len(assertion) > 16<<10 {
		return directory.User{}, errs.E(op, errs.Invalid, "The passkey sign-in did not complete. Try again, or use another way to sign in.")
	}
	pk, err := s.passkeys()
	if err != nil {
		return directory.User{}, err
	}
	lookup := func(ctx context.Context, handle []byte) (directory.User, error) {
		return s.Store.GetUser(ctx, tenantID, string(handle))
	}
	u, _, err := pk.FinishLogin(ctx, tenantID, challenge, []byte(assertion), lookup)
	return u, err
}

// otpStep checks the authenticator-app code of a session whose password was accepted.
func (f signInFlow) otpStep(c *webCtx) (webSession, bool) {
	u, ok := f.pendingUser(c, pendingOTP)
	if !ok {
		return webSession{}, false
	}
	if err := c.s.checkOTP(c.r.Context(), u, c.r.PostForm.Get("otc"), clientAddress(c.r)); err != nil {
		c.s.logPageFailure(c.r, f, u.UserPrincipalName, authn.MethodSoftwareOath, err) // signin_log.go
		f.show(c, pendingOTP, u.UserPrincipalName, err)
		return webSession{}, false
	}
	proof := signInProof{UserID: u.ID, AMR: []string{"pwd", "otp", "mfa"},
		Methods: append(append([]string{}, c.sess.Methods...), authn.MethodSoftwareOath), AuthTime: c.s.now()}
	return f.advance(c, u, proof, "")
}

// changePasswordStep replaces a temporary password, then goes on to MFA if the sign-in
// needs it.
func (f signInFlow) changePasswordStep(c *webCtx) (webSession, bool) {
	u, ok := f.pendingUser(c, pendingChangePassword)
	if !ok {
		return webSession{}, false
	}
	pf := c.r.PostForm
	u, err := c.s.changePassword(c.r.Context(), u, pf.Get("current"), pf.Get("new"), pf.Get("confirm"), clientAddress(c.r))
	if err != nil {
		f.show(c, pendingChangePassword, u.UserPrincipalName, err)
		return webSession{}, false
	}
	proof := signInProof{UserID: u.ID, AMR: c.sess.AMR, Methods: c.sess.Methods, AuthTime: c.sess.AuthTime}
	next := ""
	if containsString(proof.Methods, authn.MethodPassword) {
		if next, err = c.s.mfaStep(c.r.Context(), u); err != nil {
			f.show(c, "start", "", err)
			return webSession{}, false
		}
	}
	return f.advance(c, u, proof, next)
}

// pendingUser is the user of a half-signed-in session at step; anything else starts over.
func (f signInFlow) pendingUser(c *webCtx, step string) (directory.User, bool) {
	const op = "httpapi.pendingUser"
	expired := errs.E(op, errs.Unauthenticated, "Your sign-in took too long or was ended. Sign in again.")
	if !c.sess.pending() || c.sess.Pending != step || c.sess.TenantID != f.Tenant.ID {
		f.show(c, "start", "", expired)
		return directory.User{}, false
	}
	u, err := c.s.Store.GetUser(c.r.Context(), c.sess.TenantID, c.sess.UserID)
	if err != nil || !u.AccountEnabled {
		c.s.endSession(c.r.Context(), c.w, c.sess)
		c.sess = webSession{}
		f.show(c, "start", "", expired)
		return directory.User{}, false
	}
	return u, true
}
