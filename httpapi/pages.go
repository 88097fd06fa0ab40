package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
	"github.com/latchsh/latch/webui"
)

// renderError shows a refusal as a page, for requests that must not be redirected.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	s.newWebCtx(w, r).fail(err)
}

func (s *Server) renderFormPost(w http.ResponseWriter, r *http.Request, action string, v url.Values) {
	fields := map[string]string{}
	for k := range v {
		fields[k] = v.Get(k)
	}
	webui.Render(w, http.StatusOK, "formpost", webui.Page{Title: "Continue", Data: map[string]any{"Action": action, "Fields": fields}})
}

// confirmPage is the device-code confirmation's data.
type confirmPage struct {
	Code string
	App  string
	User string
}

// handleDeviceLogin is the page a person opens on another device to approve a device-code
// sign-in: enter the code, sign in (any way the sign-in pages offer, or the session they
// have), then confirm "Are you trying to sign in to …?" or cancel.
func (s *Server) handleDeviceLogin(w http.ResponseWriter, r *http.Request) {
	s.page(s.deviceLoginPage)(w, r)
}

func (s *Server) deviceLoginPage(c *webCtx) error {
	if c.r.Method == http.MethodGet {
		c.render(http.StatusOK, "devicecode", "Enter code", c.r.URL.Query().Get("otc"))
		return nil
	}
	code := strings.ToUpper(strings.TrimSpace(deviceUserCode(c.r.PostForm)))
	d, err := s.pendingDevice(c.r, code)
	if err != nil {
		c.renderErr(http.StatusBadRequest, "devicecode", "Enter code", code, err)
		return nil
	}
	t, err := s.Store.GetTenant(c.r.Context(), d.TenantID)
	if err != nil {
		return err
	}
	app := s.appName(c.r, d)
	switch c.r.PostForm.Get("step") {
	case "cancel":
		return s.denyDevice(c, d)
	}
	f := signInFlow{Tenant: t, Action: "/devicelogin", Hidden: map[string]string{deviceCodeField: code}, App: app, CanCancel: true,
		PasskeyOnly: passkeyOnly(d.ACRS)} // web_claims.go
	switch c.r.PostForm.Get("step") {
	case "confirm":
		return s.checkedDevice(c, f, d, func() error { return s.confirmDevice(c, d, app) })
	case "code":
		if c.sess.signedIn() && c.sess.TenantID == d.TenantID {
			return s.checkedDevice(c, f, d, func() error { return s.showConfirm(c, code, app) })
		}
		f.showCurrent(c)
		return nil
	}
	if _, ok := f.run(c); ok {
		return s.checkedDevice(c, f, d, func() error { return s.showConfirm(c, code, app) })
	}
	return nil
}

// checkedDevice goes on with next once Conditional Access lets the session's sign-in approve
// the device code; otherwise the page asks for a stronger sign-in (web_stepup.go).
func (s *Server) checkedDevice(c *webCtx, f signInFlow, d token.DeviceCode, next func() error) error {
	sp, err := s.Store.GetServicePrincipalByAppID(c.r.Context(), d.TenantID, d.ClientID)
	if err != nil {
		return err
	}
	flow, clientType := logFlowOf(true)
	answered, err := s.pageCheck(c, pageStepUp{flow: f, authority: authority{Tenant: f.Tenant}, client: sp,
		scope: d.Scope, logFlow: flow, clientType: clientType, acrs: d.ACRS})
	if answered || err != nil {
		return err
	}
	return next()
}

// deviceCodeField carries the user code through the sign-in steps. It is not "otc", the code
// page's field, because the authenticator-app step's input is named otc too, and a form
// sending both would be refused as a repeated parameter.
const deviceCodeField = "user_code"

// deviceUserCode is the user code a device page post carries: the sign-in steps' field, else
// the code page's or the confirmation's otc.
func deviceUserCode(f url.Values) string {
	if c := f.Get(deviceCodeField); c != "" {
		return c
	}
	return f.Get("otc")
}

// showConfirm asks the signed-in person whether they started this sign-in, the guard
// against someone else's code being pasted to them.
func (s *Server) showConfirm(c *webCtx, code, app string) error {
	u, err := s.Store.GetUser(c.r.Context(), c.sess.TenantID, c.sess.UserID)
	if err != nil {
		return err
	}
	c.render(http.StatusOK, "confirm", "Are you trying to sign in?", confirmPage{Code: code, App: app, User: u.UserPrincipalName})
	return nil
}

// confirmDevice approves the code for the session's user, with the methods the session
// proved, so the tokens carry them.
func (s *Server) confirmDevice(c *webCtx, d token.DeviceCode, app string) error {
	const op = "httpapi.confirmDevice"
	if !c.sess.signedIn() || c.sess.TenantID != d.TenantID {
		return errs.E(op, errs.Unauthenticated, "Your sign-in has ended. Enter the code again and sign in.")
	}
	_, err := s.Store.UpdateDeviceCode(c.r.Context(), d.Hash, func(cur token.DeviceCode) (token.DeviceCode, error) {
		if cur.Status != token.DevicePending || s.now().After(cur.Expires) {
			return cur, errs.E(op, errs.Conflict, "This code was used already or has expired. Start the sign-in again on your device.")
		}
		cur.Status, cur.UserID, cur.AMR, cur.AuthTime = token.DeviceApproved, c.sess.UserID, c.sess.AMR, c.sess.AuthTime
		cur.SignInCorrelationID = newSignInCorrelationID(c.r) // signin_correlation.go
		return cur, nil
	})
	if err != nil {
		return err
	}
	c.message("You're signed in", "You have signed in to the "+app+" application on your device. You may now close this window.")
	return nil
}

func (s *Server) denyDevice(c *webCtx, d token.DeviceCode) error {
	s.Store.UpdateDeviceCode(c.r.Context(), d.Hash, func(cur token.DeviceCode) (token.DeviceCode, error) {
		if cur.Status == token.DevicePending {
			cur.Status = token.DeviceDenied
		}
		return cur, nil
	})
	c.message("Sign-in cancelled", "You declined the sign-in. You may now close this window.")
	return nil
}

// pendingDevice finds the pending, unexpired device authorization a person typed the code of.
func (s *Server) pendingDevice(r *http.Request, code string) (token.DeviceCode, error) {
	const op = "httpapi.pendingDevice"
	invalid := errs.E(op, errs.Invalid, "That code didn't work. Check the code and try again.")
	if len(code) != userCodeLen {
		return token.DeviceCode{}, invalid
	}
	d, err := s.Store.GetDeviceCodeByUserCode(r.Context(), code)
	if err != nil || d.Status != token.DevicePending || s.now().After(d.Expires) {
		return token.DeviceCode{}, invalid
	}
	return d, nil
}

func (s *Server) appName(r *http.Request, d token.DeviceCode) string {
	sp, err := s.Store.GetServicePrincipalByAppID(r.Context(), d.TenantID, d.ClientID)
	if err != nil {
		return d.ClientID
	}
	return sp.DisplayName
}
