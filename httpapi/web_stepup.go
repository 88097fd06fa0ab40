package httpapi

import (
	"context"
	"net/http"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
)

// Step-up on the sign-in pages. Before the authorization endpoint issues a code, and before
// the device-code page approves a code, Conditional Access decides the session's sign-in for
// the app the request is for. When a policy wants a stronger sign-in the person can make,
// the page says so in the article's words and offers only what satisfies it: the passkey
// alone when a password and code would not do (phishing-resistant MFA), else the code step
// on top of the password they gave. Once they sign in again the same request goes on. The
// token endpoint decides again when the code is redeemed; this check spares the person a
// refusal after the browser has closed.

// pageStepUp is what pageCheck needs to know about the request.
type pageStepUp struct {
	flow       signInFlow
	authority  authority
	client     directory.ServicePrincipal
	scope      string
	logFlow    string   // signinlog.FlowBrowser or signinlog.FlowDeviceCode
	clientType string   // conditional.ClientBrowser, or ClientMobileAndDesktop for a device code
	acrs       []string // strengths the request's claims parameter asks for (web_claims.go)
}

// pageCheck decides Conditional Access for the session's sign-in. It returns true when it
// has answered the request: with the step-up, or with the refusal (blocked, or nothing the
// person has registered would do). A store failure is reported as such.
func (s *Server) pageCheck(c *webCtx, p pageStepUp) (bool, error) {
	const op = "httpapi.pageCheck"
	ctx := c.r.Context()
	u, err := s.Store.GetUser(ctx, p.authority.Tenant.ID, c.sess.UserID)
	if err != nil {
		return false, err
	}
	appID, name := s.pageApp(ctx, p.authority, p.scope)
	if appID == "" {
		return false, nil // the scope is refused when the code is redeemed
	}
	x := userSignIn{Flow: p.logFlow, ClientAppType: p.clientType, Interactive: true, User: u, Client: p.client,
		AppID: appID, ResourceID: appID, ResourceName: name, Methods: c.sess.Methods, AuthTime: c.sess.AuthTime}
	d, err := s.evaluateSignIn(c.r, p.authority.Tenant.ID, x)
	if err != nil {
		return false, err
	}
	if refusal := d.refusal(op); refusal != nil {
		s.logUserSignIn(c.r, p.authority.Tenant.ID, x, d, refusal)
	} else {
		var asked bool
		if d, asked, err = s.claimsStepUp(ctx, u, d, p.acrs, c.sess.Methods); !asked || err != nil { // web_claims.go
			return false, err
		}
	}
	if d.Result.Outcome != conditional.StepUp {
		c.fail(errs.E(op, errs.PermissionDenied, d.Result.Message+" "+d.Result.Detail))
		return true, nil
	}
	return true, s.showStepUp(c, p.flow, u, d)
}

// pageApp is the app a request's scope is for: the Linux VM sign-in app for its scope, else
// the resource's app; "" when the scope names nothing the tenant has.
func (s *Server) pageApp(ctx context.Context, a authority, scope string) (string, string) {
	if checkSSHScope(scope) == nil {
		return directory.LinuxVMSignInAppID, "Azure Linux VM Sign-In"
	}
	resource, err := s.resourceFor(ctx, a, scope, "", true)
	if err != nil {
		return "", ""
	}
	return s.appOfResource(ctx, a, resource)
}

// showStepUp shows the sign-in step that can satisfy d's strengths, with the article's
// message and the policy above it.
func (s *Server) showStepUp(c *webCtx, f signInFlow, u directory.User, d caDecision) error {
	msg := errs.E("httpapi.showStepUp", errs.Unauthenticated, d.Result.Message+" "+d.Result.Detail)
	codeWill := allSatisfied(d, []string{authn.MethodPassword, authn.MethodSoftwareOath})
	if codeWill && containsString(c.sess.Methods, authn.MethodPassword) {
		apps, err := s.confirmedTOTP(c.r.Context(), u)
		if err != nil {
			return err
		}
		if len(apps) > 0 {
			return s.stepUpToCode(c, f, u, msg)
		}
	}
	f.stepUp(c, "start", u.UserPrincipalName, !codeWill, msg)
	return nil
}

// stepUpToCode turns the session back into a half-signed-in one waiting for the code, so the
// password already given counts and only the code is asked for.
func (s *Server) stepUpToCode(c *webCtx, f signInFlow, u directory.User, msg error) error {
	sess, err := s.startSession(c.w, c.r, c.sess, sessionGrant{TenantID: u.TenantID, UserID: u.ID,
		AMR: c.sess.AMR, Methods: c.sess.Methods, Pending: pendingOTP, AuthTime: c.sess.AuthTime})
	if err != nil {
		return err
	}
	c.sess = sess
	f.stepUp(c, pendingOTP, u.UserPrincipalName, false, msg)
	return nil
}

// allSatisfied reports whether methods satisfy every strength the decision asks for.
func allSatisfied(d caDecision, methods []string) bool {
	for _, id := range d.Result.StepUpStrengths {
		st, ok := conditional.BuiltInStrength(id)
		for _, c := range d.Custom {
			if c.ID == id {
				st, ok = c, true
			}
		}
		if !ok || !conditional.Satisfies(st, methods) {
			return false
		}
	}
	return true
}

// stepUp shows step with msg above it, offering only the passkey when passkeyOnly. The
// answer is a 200: the page is the way on, not a failure.
func (f signInFlow) stepUp(c *webCtx, step, hint string, passkeyOnly bool, msg error) {
	p := signInPage{Action: f.Action, Hidden: f.Hidden, Step: step, App: f.App, LoginHint: hint,
		TenantID: f.Tenant.ID, CanCancel: f.CanCancel, Passkeys: c.s.passkeysUsable(), PasskeyOnly: passkeyOnly}
	c.renderErr(http.StatusOK, "signin", "Sign in again", p, msg)
}

// logFlowOf names a page's sign-in in the log.
func logFlowOf(device bool) (string, string) {
	if device {
		return signinlog.FlowDeviceCode, conditional.ClientMobileAndDesktop
	}
	return signinlog.FlowBrowser, conditional.ClientBrowser
}
