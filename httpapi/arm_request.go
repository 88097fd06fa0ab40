package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// armRequest is what an ARM handler works with: the caller, the captured path values, the
// api-version, and the caller's authorizer, loaded on first use.
type armRequest struct {
	s          *Server
	r          *http.Request
	ctx        context.Context
	caller     Caller
	vars       map[string]string
	apiVersion string
	authz      *armAuthz
	// resourceID is what a write is about, for the activity log; handlers set it as soon
	// as they know it, so refused writes are recorded against the right resource.
	resourceID string
	// header is sent with a successful answer.
	header http.Header
}

func (q *armRequest) tenantID() string { return q.caller.TenantID }

// serveARM authenticates, checks the api-version, runs the route, writes the answer, and
// records writes in the activity log — refused and failed ones included.
func (s *Server) serveARM(w http.ResponseWriter, r *http.Request, rt armRoute, vars map[string]string) {
	q := &armRequest{s: s, r: r, ctx: r.Context(), vars: vars, apiVersion: r.URL.Query().Get("api-version"), header: http.Header{}}
	status, body, err := s.runARM(q, rt)
	if rt.operation != "" && q.caller.ObjectID != "" {
		s.recordActivity(q, rt.operation, status, err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for k, v := range q.header {
		w.Header()[k] = v
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

func (s *Server) runARM(q *armRequest, rt armRoute) (int, any, error) {
	c, err := s.authenticate(q.r)
	if err == nil {
		err = s.requireAudience(c, s.armAudience())
	}
	if err != nil {
		return 0, nil, err
	}
	q.caller = c
	q.authz = &armAuthz{s: s, ctx: q.ctx, caller: c}
	q.resourceID = canonicalPath(q.r.URL.Path)
	if err := checkAPIVersion(q.apiVersion); err != nil {
		return 0, nil, err
	}
	return rt.h(q)
}

// canonicalPath is the request path without empty segments, the default resource id of a write.
func canonicalPath(p string) string { return "/" + strings.Join(pathSegments(p), "/") }

// checkAPIVersion applies ARM's rule that every request names an api-version of the form
// YYYY-MM-DD[-suffix]. Which versions a resource type supports is not checked: Latch answers
// every version with the same shapes.
func checkAPIVersion(v string) error {
	const op = "httpapi.checkAPIVersion"
	if v == "" {
		return errs.E(op, errs.Invalid, access.CodeMissingAPIVersion,
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	ok := len(v) >= 10 && len(v) <= 40
	for i := 0; ok && i < 10; i++ {
		c := v[i]
		ok = i == 4 || i == 7 || '0' <= c && c <= '9'
		if i == 4 || i == 7 {
			ok = c == '-'
		}
	}
	if !ok {
		return errs.E(op, errs.Invalid, access.CodeInvalidAPIVersion, "The api-version '"+truncate(v, 40)+
			"' is invalid. The supported versions are dates of the form 'YYYY-MM-DD', optionally followed by '-preview'.")
	}
	return nil
}

// subscription returns the caller's tenant's subscription named in the path, or ARM's
// SubscriptionNotFound. A subscription of another tenant is not found, not forbidden.
func (q *armRequest) subscription() (resource.Subscription, error) {
	id := q.vars["sub"]
	subs, err := q.s.Store.ListSubscriptions(q.ctx, q.tenantID())
	if err != nil {
		return resource.Subscription{}, err
	}
	for _, sub := range subs {
		if strings.EqualFold(sub.ID, id) {
			return sub, nil
		}
	}
	return resource.Subscription{}, errs.E("httpapi.subscription", errs.NotFound, errs.Code("SubscriptionNotFound"),
		"The subscription '"+truncate(id, 64)+"' could not be found.")
}

// scopeOf parses a scope the router captured or a body named; anything else is errs.Invalid
// with access's code InvalidScope.
func scopeOf(s string) (access.Scope, error) {
	sc, err := access.ParseScope(s)
	if err != nil {
		return access.Scope{}, errs.E("httpapi.scopeOf", errs.Invalid, err)
	}
	return sc, nil
}
