package httpapi

import (
	"net/http"
	"strings"

	"github.com/latchsh/latch/errs"
)

// ARM paths are case-insensitive in their fixed words (az sends "resourcegroups"), and the
// role-based access routes sit under any scope ({scope}/providers/Microsoft.Authorization/…).
// http.ServeMux matches neither, and a catch-all pattern would conflict with the token
// service's "/{tenant}/…" patterns, so ARM paths are routed here, ahead of the mux.

// armRoute is one ARM operation. Segments match case-insensitively; "{name}" captures one
// segment; a leading "{scope...}" captures everything before the rest of the pattern, which
// must then be a valid scope (or nothing, for the root).
type armRoute struct {
	method  string
	pattern []string
	name    string // the pattern as written, for logs and metrics
	// operation is the ARM operation a write records in the activity log; "" for reads.
	operation string
	h         armHandler
}

// armHandler serves one matched route. It returns the status and body to send (a nil body
// sends none), or an error, which is written in ARM's error shape.
type armHandler func(q *armRequest) (int, any, error)

func route(method, pattern, operation string, h armHandler) armRoute {
	return armRoute{method: method, pattern: strings.Split(strings.Trim(pattern, "/"), "/"), name: method + " " + pattern,
		operation: operation, h: h}
}

// armPrefixes are the first path segments the ARM router owns.
var armPrefixes = []string{"subscriptions", "providers"}

// isARMPath reports whether the router owns path (already cleaned of empty segments).
func isARMPath(segs []string) bool {
	if len(segs) == 0 {
		return false
	}
	for _, p := range armPrefixes {
		if strings.EqualFold(segs[0], p) {
			return true
		}
	}
	return false
}

// pathSegments splits a URL path, dropping empty segments, so "//subscriptions//x" (which az
// sends when a cloud endpoint ends in '/') routes like "/subscriptions/x".
func pathSegments(path string) []string {
	var out []string
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// match reports whether segs fit rt, and the captured values.
func (rt armRoute) match(segs []string) (map[string]string, bool) {
	pat := rt.pattern
	vars := map[string]string{}
	if len(pat) > 0 && pat[0] == "{scope...}" {
		pat = pat[1:]
		if len(segs) < len(pat) {
			return nil, false
		}
		vars["scope"] = "/" + strings.Join(segs[:len(segs)-len(pat)], "/")
		segs = segs[len(segs)-len(pat):]
	}
	if len(segs) != len(pat) {
		return nil, false
	}
	for i, p := range pat {
		if strings.HasPrefix(p, "{") {
			vars[strings.Trim(p, "{}")] = segs[i]
		} else if !strings.EqualFold(p, segs[i]) {
			return nil, false
		}
	}
	return vars, true
}

// armRouter serves the ARM paths of routes and hands every other request to next. A path
// that matches a route under another method is a 405, as ARM answers.
func (s *Server) armRouter(routes []armRoute, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := pathSegments(r.URL.Path)
		if !isARMPath(segs) {
			next.ServeHTTP(w, r)
			return
		}
		pathMatched := false
		for _, rt := range routes {
			vars, ok := rt.match(segs)
			if !ok {
				continue
			}
			pathMatched = true
			if rt.method == r.Method || rt.method == http.MethodGet && r.Method == http.MethodHead && !hasMethod(routes, segs, http.MethodHead) {
				r.Pattern = rt.name
				s.serveARM(w, r, rt, vars)
				return
			}
		}
		if pathMatched {
			s.writeError(w, r, errs.E("httpapi.armRouter", errs.Invalid, errs.Code("MethodNotAllowed"),
				"The requested resource does not support http method '"+truncate(r.Method, 16)+"'."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hasMethod(routes []armRoute, segs []string, method string) bool {
	for _, rt := range routes {
		if _, ok := rt.match(segs); ok && rt.method == method {
			return true
		}
	}
	return false
}
