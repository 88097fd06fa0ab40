package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
	"github.com/latchsh/latch/webui"
)

// signInPage is the sign-in form's data.
type signInPage struct {
	Action        string
	Hidden        map[string]string
	LoginHint     string
	App           string
	CanCancel     bool
	Error         string
	CorrelationID string
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, p signInPage) {
	status := http.StatusOK
	if p.Error != "" {
		status = http.StatusUnauthorized
	}
	webui.Render(w, status, "signin", webui.Page{Title: "Sign in", Error: p.Error, CorrelationID: p.CorrelationID, Data: p})
}

// renderError shows a refusal as a page, for requests that must not be redirected.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	s.logError(r, err, errs.KindOf(err))
	msg := errs.Message(err)
	if errs.KindOf(err) == errs.Internal {
		msg = "Something went wrong on our side."
	}
	status := statusOf(errs.KindOf(err))
	webui.Render(w, status, "message", webui.Page{Title: "Sorry, we can't sign you in", Error: msg, CorrelationID: CorrelationID(r.Context())})
}

func (s *Server) renderFormPost(w http.ResponseWriter, r *http.Request, action string, v url.Values) {
	fields := map[string]string{}
	for k := range v {
		fields[k] = v.Get(k)
	}
	webui.Render(w, http.StatusOK, "formpost", webui.Page{Title: "Continue", Data: map[string]any{"Action": action, "Fields": fields}})
}

// handleDeviceLogin is the page a person opens on another device to approve a device-code
// sign-in: enter the code, then sign in and confirm (or cancel).
func (s *Server) handleDeviceLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		webui.Render(w, http.StatusOK, "devicecode", webui.Page{Title: "Enter code", Data: r.URL.Query().Get("otc")})
		return
	}
	if err := parseForm(w, r); err != nil {
		s.renderError(w, r, err)
		return
	}
	code := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("otc")))
	d, err := s.pendingDevice(r, code)
	if err != nil {
		webui.Render(w, http.StatusBadRequest, "devicecode", webui.Page{Title: "Enter code", Error: errs.Message(err), CorrelationID: CorrelationID(r.Context()), Data: code})
		return
	}
	app := s.appName(r, d)
	page := signInPage{Action: "/devicelogin", Hidden: map[string]string{"otc": code, "step": "signin"}, App: app, CanCancel: true}
	if r.PostForm.Get("step") != "signin" {
		s.renderSignIn(w, r, page)
		return
	}
	s.approveDevice(w, r, d, page)
}

func (s *Server) approveDevice(w http.ResponseWriter, r *http.Request, d token.DeviceCode, page signInPage) {
	const op = "httpapi.approveDevice"
	if r.PostForm.Get("action") == "cancel" {
		s.Store.UpdateDeviceCode(r.Context(), d.Hash, func(cur token.DeviceCode) (token.DeviceCode, error) {
			if cur.Status == token.DevicePending {
				cur.Status = token.DeviceDenied
			}
			return cur, nil
		})
		webui.Render(w, http.StatusOK, "message", webui.Page{Title: "Sign-in cancelled", Data: "You declined the sign-in. You may now close this window."})
		return
	}
	t, err := s.Store.GetTenant(r.Context(), d.TenantID)
	var proof signInProof
	if err == nil {
		proof, err = s.signIn(r.Context(), t, r.PostForm.Get("username"), r.PostForm.Get("credential"))
	}
	if err == nil {
		_, err = s.Store.UpdateDeviceCode(r.Context(), d.Hash, func(cur token.DeviceCode) (token.DeviceCode, error) {
			if cur.Status != token.DevicePending || s.now().After(cur.Expires) {
				return cur, errs.E(op, errs.Conflict, "This code was used already or has expired. Start the sign-in again on your device.")
			}
			cur.Status, cur.UserID, cur.AMR, cur.AuthTime = token.DeviceApproved, proof.UserID, proof.AMR, proof.AuthTime
			return cur, nil
		})
	}
	if err != nil {
		page.Error, page.CorrelationID, page.LoginHint = errs.Message(err), CorrelationID(r.Context()), r.PostForm.Get("username")
		s.logError(r, err, errs.KindOf(err))
		s.renderSignIn(w, r, page)
		return
	}
	webui.Render(w, http.StatusOK, "message", webui.Page{Title: "You're signed in",
		Data: "You have signed in to the " + page.App + " application on your device. You may now close this window."})
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
