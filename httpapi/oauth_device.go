package httpapi

import (
	"crypto/rand"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/token"
)

const (
	deviceLifetime = 15 * time.Minute
	deviceInterval = 5 // seconds
	// userCodeAlphabet leaves out letters and digits that people mix up (0/O, 1/I/L).
	userCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	userCodeLen      = 9
)

// handleDeviceCode starts a device authorization (RFC 8628). expires_in and interval are JSON
// numbers (MSAL Go decodes them as ints) and the message is the one az prints.
func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	a, err := s.resolveAuthority(r)
	if err == nil {
		err = parseForm(w, r)
	}
	var c client
	if err == nil {
		c, err = s.authenticateClient(r.Context(), r, a)
	}
	if err == nil {
		_, err = s.resourceFor(r.Context(), a, r.PostForm.Get("scope"), "", true)
	}
	acrs, ok := acrsOfClaims(r.PostForm.Get("claims")) // web_claims.go
	if err == nil && !ok {
		err = oauthErr("httpapi.handleDeviceCode", errs.Invalid, "invalid_request", "The claims parameter is not a valid claims request.")
	}
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	raw, userCode := randomToken(), newUserCode()
	d := token.DeviceCode{Hash: hashSecret(raw), UserCode: userCode, TenantID: a.Tenant.ID, ClientID: c.SP.AppID,
		Scope: r.PostForm.Get("scope"), ACRS: acrs, Status: token.DevicePending, Interval: deviceInterval, Expires: s.now().Add(deviceLifetime)}
	if err := s.Store.CreateDeviceCode(r.Context(), d); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	uri := s.URL + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code": userCode, "device_code": raw, "verification_uri": uri,
		"expires_in": int(deviceLifetime.Seconds()), "interval": deviceInterval,
		"message": "To sign in, use a web browser to open the page " + uri + " and enter the code " + userCode + " to authenticate.",
	})
}

func newUserCode() string {
	var b strings.Builder
	max := big.NewInt(int64(len(userCodeAlphabet)))
	for range userCodeLen {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand: " + err.Error())
		}
		b.WriteByte(userCodeAlphabet[n.Int64()])
	}
	return b.String()
}

// grantDeviceCode answers a poll: authorization_pending until the person confirms, slow_down
// when polled faster than the interval, and the tokens exactly once after approval.
func (s *Server) grantDeviceCode(r *http.Request, a authority) (map[string]any, error) {
	const op = "httpapi.grantDeviceCode"
	c, err := s.authenticateClient(r.Context(), r, a)
	if err != nil {
		return nil, err
	}
	raw := r.PostForm.Get("device_code")
	if raw == "" {
		raw = r.PostForm.Get("code") // az sends both
	}
	if raw == "" || len(raw) > 512 {
		return nil, oauthErr(op, errs.Invalid, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'device_code'.")
	}
	now := s.now()
	// The poll's time is saved whatever the outcome, so that slow_down can be told; only a
	// code of another client aborts without saving.
	var outcome error
	d, err := s.Store.UpdateDeviceCode(r.Context(), hashSecret(raw), func(d token.DeviceCode) (token.DeviceCode, error) {
		if d.ClientID != c.SP.AppID || d.TenantID != a.Tenant.ID {
			return d, oauthErr(op, errs.Invalid, "invalid_grant", "AADSTS70000: The device code was issued to another client.")
		}
		var next token.DeviceCode
		next, outcome = pollDevice(d, now)
		return next, nil
	})
	if errs.Is(err, errs.NotFound) {
		return nil, oauthErr(op, errs.Invalid, "invalid_grant", "AADSTS70000: The device code is not valid.")
	}
	if err == nil {
		err = outcome
	}
	if err != nil {
		return nil, err
	}
	g := userGrant{Client: c.SP, UserID: d.UserID, Scope: d.Scope, AMR: d.AMR, AuthTime: d.AuthTime, Flow: signinlog.FlowDeviceCode,
		SignInCorrelationID: d.SignInCorrelationID}
	return s.issueUserTokens(r, a, g)
}

// pollDevice is the state machine of one poll: the code to save and the poll's outcome, an
// error for every outcome but approval, which it turns into redeemed so that no other poll can
// redeem it again.
func pollDevice(d token.DeviceCode, now time.Time) (token.DeviceCode, error) {
	const op = "httpapi.pollDevice"
	if now.After(d.Expires) {
		return d, oauthErr(op, errs.Expired, "expired_token", "AADSTS70020: The device code has expired. Start the sign-in again.")
	}
	switch d.Status {
	case token.DeviceApproved:
		d.Status = token.DeviceRedeemed
		return d, nil
	case token.DeviceDenied:
		return d, oauthErr(op, errs.PermissionDenied, "authorization_declined", "AADSTS70019: The person declined the sign-in.")
	case token.DeviceRedeemed:
		return d, oauthErr(op, errs.Conflict, "invalid_grant", "AADSTS70000: The device code was used already.")
	}
	tooSoon := !d.LastPoll.IsZero() && now.Sub(d.LastPoll) < time.Duration(d.Interval)*time.Second-time.Second
	d.LastPoll = now
	if tooSoon {
		return d, errPending(op, "slow_down", "AADSTS70016: Polling too fast; wait the interval between requests.")
	}
	return d, errPending(op, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
}

func errPending(op, code, msg string) error {
	return oauthErr(op, errs.Invalid, code, msg)
}
