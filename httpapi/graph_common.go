package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
)

// graphHandler is the body of a Graph route. It runs with an authenticated caller and returns
// its refusal instead of writing it, so every route answers errors the same way.
type graphHandler func(w http.ResponseWriter, r *http.Request, c Caller) error

// graph wraps h with authentication. Every Graph route goes through it.
func (s *Server) graph(h graphHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err != nil {
			// Graph answers every token problem with InvalidAuthenticationToken; clients key
			// their re-authentication on that code.
			if errs.Is(err, errs.Unauthenticated) {
				err = errs.E("httpapi.graph", errs.Unauthenticated, errs.Code("InvalidAuthenticationToken"), err)
			}
			s.writeError(w, r, err)
			return
		}
		if err := s.checkGraphAudience(c); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r, c); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// checkGraphAudience refuses tokens issued for another resource (the ARM audience, which
// authenticate also accepts): as in Entra, a token is good for the one API it names.
func (s *Server) checkGraphAudience(c Caller) error { return s.requireAudience(c, s.graphAudience()) }

// authorizeRead lets any enabled user of the tenant read the directory, as Entra's default
// user permissions do; an application needs a directory role allowing
// microsoft.directory/<collection>/read. authenticate has already refused disabled principals.
func (s *Server) authorizeRead(ctx context.Context, c Caller, collection string) error {
	if c.PrincipalType == token.PrincipalUser {
		return nil
	}
	return s.authorizeDirectory(ctx, c, directory.Action(collection, directory.ActionRead))
}

// authorizeWrite checks microsoft.directory/<collection>/<verb>.
func (s *Server) authorizeWrite(ctx context.Context, c Caller, collection, verb string) error {
	return s.authorizeDirectory(ctx, c, directory.Action(collection, verb))
}

// graphNotFound is Graph's answer for an object that is not in the caller's tenant.
func graphNotFound(op, id string) error {
	return errs.E(op, errs.NotFound, errs.Code("Request_ResourceNotFound"), fmt.Sprintf(
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", truncate(id, 128)))
}

// graphBadRequest is Graph's answer for a request that breaks a rule.
func graphBadRequest(op, msg string) error {
	return errs.E(op, errs.Invalid, errs.Code("Request_BadRequest"), msg)
}

// asGraphError gives store and validation errors Graph's codes: NotFound becomes
// Request_ResourceNotFound for id, Invalid becomes Request_BadRequest; others pass through.
func asGraphError(op, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errs.Is(err, errs.NotFound):
		return graphNotFound(op, id)
	case errs.Is(err, errs.Invalid) && errs.CodeOf(err) == "":
		return errs.E(op, errs.Invalid, errs.Code("Request_BadRequest"), err)
	}
	return err
}

// readGraphJSON is readJSON with Graph's error code.
func readGraphJSON(r *http.Request, v any) error {
	if err := readJSON(r, v); err != nil {
		return errs.E("httpapi.readGraphJSON", errs.Invalid, errs.Code("Request_BadRequest"), err)
	}
	return nil
}

// apiVersion is the Graph version segment the request came in on.
func apiVersion(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/beta/") {
		return "beta"
	}
	return "v1.0"
}

// odataContext is the @odata.context URL for a fragment such as "users" or "users/$entity".
func (s *Server) odataContext(r *http.Request, fragment string) string {
	return s.URL + "/" + apiVersion(r) + "/$metadata#" + fragment
}

// graphTime formats times as Graph does: UTC, seconds precision; the zero time is null.
func graphTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// nullIfEmpty shows an unset string as null, as Graph does.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nonNil keeps lists from being serialised as null.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// writeGraphList answers a collection: filtered, sorted, paged by $top/$skiptoken, projected
// by $select, under @odata.context for entitySet.
func (s *Server) writeGraphList(w http.ResponseWriter, r *http.Request, entitySet string, objs []map[string]any, q graphQuery) {
	matched := objs[:0:0]
	for _, o := range objs {
		if q.filter == nil || q.filter.match(o) {
			matched = append(matched, o)
		}
	}
	sortObjects(matched)
	body := map[string]any{"@odata.context": s.odataContext(r, entitySet)}
	if q.count {
		body["@odata.count"] = len(matched)
	}
	page := matched[min(q.skip, len(matched)):]
	if q.top > 0 && len(page) > q.top {
		page = page[:q.top]
		body["@odata.nextLink"] = s.nextLink(r, q.skip+q.top)
	}
	value := make([]map[string]any, len(page))
	for i, o := range page {
		value[i] = project(o, q.sel)
	}
	body["value"] = value
	writeJSON(w, http.StatusOK, body)
}

// nextLink is the request's URL with $skiptoken moved to the next page.
func (s *Server) nextLink(r *http.Request, skip int) string {
	v, _ := url.ParseQuery(r.URL.RawQuery)
	for k := range v {
		if strings.EqualFold(k, "$skiptoken") {
			v.Del(k)
		}
	}
	v.Set("$skiptoken", fmt.Sprint(skip))
	return s.URL + r.URL.Path + "?" + v.Encode()
}

// writeGraphEntity answers one object with its @odata.context, honouring $select on reads.
// Query options on a create are ignored: refusing them after the object was made would
// tell the client it failed when it did not.
func (s *Server) writeGraphEntity(w http.ResponseWriter, r *http.Request, status int, entitySet string, obj map[string]any) error {
	var sel []string
	if r.Method == http.MethodGet {
		var err error
		if sel, err = parseSelectOnly(r, obj); err != nil {
			return err
		}
	}
	out := map[string]any{"@odata.context": s.odataContext(r, entitySet+"/$entity")}
	for k, v := range project(obj, sel) {
		out[k] = v
	}
	writeJSON(w, status, out)
	return nil
}

// parseSelectOnly reads the query options of a single-object request: only $select applies.
func parseSelectOnly(r *http.Request, sample map[string]any) ([]string, error) {
	const op = "httpapi.parseSelectOnly"
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, errs.Code("BadRequest"), "The query string is not valid URL encoding.")
	}
	var sel []string
	for name, vs := range values {
		switch {
		case !strings.HasPrefix(name, "$"):
		case strings.EqualFold(name, "$select") && len(vs) == 1:
			if sel, err = parseSelect(vs[0], sample); err != nil {
				return nil, err
			}
		default:
			return nil, errs.E(op, errs.Invalid, errs.Code("Request_UnsupportedQuery"), fmt.Sprintf(
				"The query option '%s' is not supported on a single object; only $select is.", truncate(name, 32)))
		}
	}
	return sel, nil
}

// noContent answers a successful change that returns nothing, as Graph's PATCH and DELETE do.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }
