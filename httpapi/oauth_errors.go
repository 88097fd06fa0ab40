package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/latchsh/latch/errs"
)

// oauthCodeOf picks the RFC 6749 error code for err: the one it carries when it is an OAuth
// code, else one derived from its kind.
func oauthCodeOf(err error) string {
	if c := string(errs.CodeOf(err)); c != "" && c == strings.ToLower(c) {
		return c
	}
	switch errs.KindOf(err) {
	case errs.Invalid, errs.NotFound:
		return "invalid_request"
	case errs.Unauthenticated:
		return "invalid_client"
	case errs.Conflict, errs.Expired:
		return "invalid_grant"
	case errs.PermissionDenied:
		return "unauthorized_client"
	case errs.TooMany, errs.Unavailable:
		return "temporarily_unavailable"
	}
	return "server_error"
}

// aadsts are Entra's numeric error codes for the codes Latch sends, so that clients and people
// searching for them find the documented meaning.
var aadsts = map[string]int{
	"invalid_client":          7000215,
	"invalid_grant":           70000,
	"invalid_request":         900144,
	"invalid_scope":           70011,
	"invalid_resource":        500011,
	"invalid_tenant":          90002,
	"unauthorized_client":     700016,
	"unsupported_grant_type":  70003,
	"authorization_pending":   70016,
	"authorization_declined":  70019,
	"expired_token":           70020,
	"slow_down":               70016,
	"access_denied":           50105,
	"interaction_required":    50076,
	"temporarily_unavailable": 90033,
	"server_error":            50000,
}

// writeOAuthError answers with Entra's token-endpoint error shape. Authorization-pending and
// slow-down are 400 as RFC 8628 and MSAL require; bad client authentication is 401.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	code := oauthCodeOf(err)
	kind := errs.KindOf(err)
	s.logError(r, err, kind)
	cid := CorrelationID(r.Context())
	now := s.now().UTC().Format("2006-01-02 15:04:05Z")
	msg := errs.Message(err)
	if kind == errs.Internal {
		msg = "An internal error occurred."
	}
	num := aadsts[code]
	if !strings.HasPrefix(msg, "AADSTS") {
		msg = "AADSTS" + strconv.Itoa(num) + ": " + msg
	}
	status := http.StatusBadRequest
	switch {
	case code == "invalid_client":
		status = http.StatusUnauthorized
	case kind == errs.Internal:
		status = http.StatusInternalServerError
	case kind == errs.Unavailable || kind == errs.TooMany:
		status = http.StatusServiceUnavailable
	case kind == errs.NotFound && code == "invalid_tenant":
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": msg + "\r\nTrace ID: " + cid + "\r\nCorrelation ID: " + cid + "\r\nTimestamp: " + now,
		"error_codes":       []int{num},
		"timestamp":         now,
		"trace_id":          cid,
		"correlation_id":    cid,
	})
}

// oauthErr is shorthand for an OAuth refusal with its code and message.
func oauthErr(op string, kind errs.Kind, code, msg string) error {
	return errs.E(op, kind, errs.Code(code), msg)
}
