package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store"
)

// listSignIns answers GET /v1.0/auditLogs/signIns: the tenant's sign-ins, newest first,
// narrowed by $filter (signinlog's subset) and $top. Reading the log takes a role that
// allows microsoft.directory/signIns/read (Global Reader and the administrators).
func (s *Server) listSignIns(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeDirectory(r.Context(), c, directory.Action("signIns", directory.ActionRead)); err != nil {
		return err
	}
	f, top, err := signInQuery(r)
	if err != nil {
		return err
	}
	entries, err := s.Store.ListSignIns(r.Context(), c.TenantID, f, top)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": s.odataContext(r, "auditLogs/signIns"), "value": entries})
	return nil
}

// signInQuery reads $filter and $top; any other $-option is refused rather than ignored.
func signInQuery(r *http.Request) (signinlog.Filter, int, error) {
	const op = "httpapi.signInQuery"
	var f signinlog.Filter
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return f, 0, graphBadRequest(op, "The query string is not valid URL encoding.")
	}
	top := store.MaxSignInList
	for name, vs := range values {
		switch {
		case !strings.HasPrefix(name, "$"):
		case len(vs) != 1:
			return f, 0, graphBadRequest(op, fmt.Sprintf("Query option '%s' was given more than once.", truncate(name, 32)))
		case strings.EqualFold(name, "$filter"):
			if f, err = signinlog.ParseFilter(vs[0]); err != nil {
				return f, 0, errs.E(op, errs.Invalid, errs.Code("Request_BadRequest"), errs.Message(err), err)
			}
		case strings.EqualFold(name, "$top"):
			if top, err = parseBoundedInt(vs[0], "$top", 1, store.MaxSignInList); err != nil {
				return f, 0, err
			}
		default:
			return f, 0, errs.E(op, errs.Invalid, errs.Code("Request_UnsupportedQuery"), fmt.Sprintf(
				"The query option '%s' is not supported on sign-ins; use $filter and $top.", truncate(name, 32)))
		}
	}
	return f, top, nil
}
