package httpapi

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
)

// securityInfoPage is the security-info page's data: the person's sign-in methods, and the
// authenticator-app enrolment in progress, if any.
type securityInfoPage struct {
	Notice      string
	Passkeys    []methodRow
	DeviceKeys  []methodRow
	Apps        []methodRow
	HasPassword bool
	PasskeysOK  bool
	Enrol       *totpEnrol
}

// methodRow is one registered method.
type methodRow struct {
	ID       string
	Name     string
	Kind     string
	Created  time.Time
	LastUsed time.Time
	Warning  string
}

// totpEnrol is an authenticator app waiting for its first code.
type totpEnrol struct {
	ID     string
	URI    string
	QR     template.URL // a data: URL of the PNG, which the page's policy allows as an image
	Secret string       // for typing in by hand, in groups of four
}

func (s *Server) handleSecurityInfo(c *webCtx) error {
	p, err := s.securityInfo(c)
	if err != nil {
		return err
	}
	c.render(http.StatusOK, "securityinfo", "Security info", p)
	return nil
}

// securityInfo gathers the person's methods, newest first.
func (s *Server) securityInfo(c *webCtx) (securityInfoPage, error) {
	ctx := c.r.Context()
	p := securityInfoPage{HasPassword: c.user.Password.Hash != "", PasskeysOK: s.passkeysUsable()}
	keys, err := s.methods().ListPasskeys(ctx, c.user.TenantID, c.user.ID)
	if err != nil {
		return p, err
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Created.After(keys[j].Created) })
	for _, k := range keys {
		row := methodRow{ID: k.ID, Name: k.DisplayName, Kind: k.Method, Created: k.Created, LastUsed: k.LastUsed}
		if k.CloneWarning {
			row.Warning = "Blocked: this passkey may have been copied. Remove it and add it again."
		}
		if k.Method == authn.MethodFIDO2 {
			p.Passkeys = append(p.Passkeys, row)
		} else {
			p.DeviceKeys = append(p.DeviceKeys, row)
		}
	}
	apps, err := s.confirmedTOTP(ctx, c.user)
	if err != nil {
		return p, err
	}
	for _, m := range apps {
		p.Apps = append(p.Apps, methodRow{ID: m.ID, Name: m.DisplayName, Kind: authn.MethodSoftwareOath, Created: m.Created})
	}
	return p, nil
}

// securityInfoDone shows the page again with a confirmation, after a POST (303 would lose
// the message; the page is safe to reload since every change needs a fresh CSRF token).
func (s *Server) securityInfoDone(c *webCtx, notice string) error {
	p, err := s.securityInfo(c)
	if err != nil {
		return err
	}
	p.Notice = notice
	c.render(http.StatusOK, "securityinfo", "Security info", p)
	return nil
}

// securityInfoError shows the page again with err above it.
func (s *Server) securityInfoError(c *webCtx, err error) error {
	p, perr := s.securityInfo(c)
	if perr != nil {
		return perr
	}
	c.renderErr(statusOf(errs.KindOf(err)), "securityinfo", "Security info", p, err)
	return nil
}

// handleTOTPStart makes a new authenticator-app secret and shows its QR code. It is saved
// unconfirmed, and offered at sign-in only once a first code proves the app has it. Earlier
// unconfirmed attempts are dropped.
func (s *Server) handleTOTPStart(c *webCtx) error {
	ctx := c.r.Context()
	all, err := s.methods().ListTOTP(ctx, c.user.TenantID, c.user.ID)
	if err != nil {
		return err
	}
	for _, m := range all {
		if !m.Confirmed {
			s.methods().DeleteTOTP(ctx, m.TenantID, m.ID)
		}
	}
	m, uri, err := authn.NewTOTP(c.user.TenantID, c.user.ID, c.user.UserPrincipalName, s.now())
	if err == nil {
		m.DisplayName = "Authenticator app"
		err = s.methods().CreateTOTP(ctx, m)
	}
	if err != nil {
		return s.securityInfoError(c, err)
	}
	return s.showEnrol(c, m.ID, uri, nil)
}

// showEnrol shows the security-info page with the enrolment panel for app id.
func (s *Server) showEnrol(c *webCtx, id, uri string, cause error) error {
	p, err := s.securityInfo(c)
	if err != nil {
		return err
	}
	png, err := authn.QRCodePNG(uri)
	if err != nil {
		return err
	}
	p.Enrol = &totpEnrol{ID: id, URI: uri, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Secret: groupSecret(uri)}
	if cause != nil {
		c.renderErr(statusOf(errs.KindOf(cause)), "securityinfo", "Security info", p, cause)
		return nil
	}
	c.render(http.StatusOK, "securityinfo", "Security info", p)
	return nil
}

// handleTOTPConfirm accepts the first code from the new app, which confirms it.
func (s *Server) handleTOTPConfirm(c *webCtx) error {
	const op = "httpapi.totpConfirm"
	ctx := c.r.Context()
	all, err := s.methods().ListTOTP(ctx, c.user.TenantID, c.user.ID)
	if err != nil {
		return err
	}
	for _, m := range all {
		if m.ID != c.r.PathValue("id") || m.Confirmed {
			continue
		}
		if err := authn.VerifyTOTP(ctx, s.methods(), m, c.r.PostForm.Get("otc"), s.now()); err != nil {
			return s.showEnrol(c, m.ID, c.r.PostForm.Get("uri"), err)
		}
		return s.securityInfoDone(c, "Your authenticator app was added. You will be asked for a code when you sign in with your password.")
	}
	return s.securityInfoError(c, errs.E(op, errs.NotFound, "That enrolment has ended. Add the authenticator app again."))
}

// handleTOTPDelete removes one of the person's authenticator apps.
func (s *Server) handleTOTPDelete(c *webCtx) error {
	ctx := c.r.Context()
	all, err := s.methods().ListTOTP(ctx, c.user.TenantID, c.user.ID)
	if err != nil {
		return err
	}
	for _, m := range all {
		if m.ID == c.r.PathValue("id") {
			if err := s.methods().DeleteTOTP(ctx, m.TenantID, m.ID); err != nil && !errs.Is(err, errs.NotFound) {
				return s.securityInfoError(c, err)
			}
			return s.securityInfoDone(c, "The authenticator app was removed.")
		}
	}
	return s.securityInfoError(c, errs.E("httpapi.totpDelete", errs.NotFound, "That authenticator app was removed already."))
}

// groupSecret shows the otpauth URI's secret in groups of four, as apps ask to type it.
func groupSecret(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	sec := u.Query().Get("secret")
	var b strings.Builder
	for i, r := range sec {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
