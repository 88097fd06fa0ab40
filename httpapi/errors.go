package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchsh/latch/errs"
)

// statusOf maps an error kind to its HTTP status, once for every API family.
func statusOf(k errs.Kind) int {
	switch k {
	case errs.Invalid, errs.Expired:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Exists, errs.Conflict:
		return http.StatusConflict
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.PermissionDenied:
		return http.StatusForbidden
	case errs.TooMany:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// armCode is ARM's and Graph's error code for a kind when the error carries none.
func armCode(k errs.Kind) string {
	switch k {
	case errs.Invalid:
		return "BadRequest"
	case errs.Expired:
		return "Expired"
	case errs.NotFound:
		return "NotFound"
	case errs.Exists, errs.Conflict:
		return "Conflict"
	case errs.Unauthenticated:
		return "InvalidAuthenticationToken"
	case errs.PermissionDenied:
		return "AuthorizationFailed"
	case errs.TooMany:
		return "TooManyRequests"
	case errs.Unavailable:
		return "ServiceUnavailable"
	}
	return "InternalServerError"
}

// writeError answers with ARM's error shape, {"error":{"code","message"}}, which az prints as
// "(Code) Message", plus Graph's innerError with the correlation id. Internal errors are logged
// with their cause and shown only as "internal error" with the correlation id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := errs.KindOf(err)
	code := string(errs.CodeOf(err))
	if code == "" {
		code = armCode(kind)
	}
	cid := CorrelationID(r.Context())
	msg := errs.Message(err)
	if kind == errs.Internal {
		msg = "An internal error occurred. Correlation ID: " + cid + "."
	}
	s.logError(r, err, kind)
	if kind == errs.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+s.URL+`/`+s.HomeTenantID+`/oauth2/v2.0/authorize", error="invalid_token"`)
	}
	writeJSON(w, statusOf(kind), map[string]any{"error": map[string]any{
		"code":    code,
		"message": msg,
		"innerError": map[string]string{
			"request-id":        cid,
			"client-request-id": cid,
			"date":              s.now().UTC().Format(time.RFC3339),
		},
	}})
}

func (s *Server) logError(r *http.Request, err error, kind errs.Kind) {
	level := slog.LevelInfo
	if kind == errs.Internal || kind == errs.Unavailable {
		level = slog.LevelError
	}
	s.Log.LogAttrs(r.Context(), level, "request refused",
		slog.String("correlationId", CorrelationID(r.Context())),
		slog.String("kind", kind.String()), slog.String("error", err.Error()))
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// maxBody caps every request body the API reads.
const maxBody = 64 << 10

// readJSON decodes a capped request body into v, refusing unknown fields and trailing data.
func readJSON(r *http.Request, v any) error {
	const op = "httpapi.readJSON"
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.E(op, errs.Invalid, "The request body is not valid JSON for this operation: "+err.Error(), errs.Code("BadRequest"))
	}
	if dec.More() {
		return errs.E(op, errs.Invalid, "The request body has data after its JSON value.", errs.Code("BadRequest"))
	}
	return nil
}
