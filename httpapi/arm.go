package httpapi

import (
	"net/http"
	"strings"
)

// armRoutes registers the ARM-shaped API's fixed paths: cloud metadata and tenants.
// az registers a cloud with a trailing-slash endpoint, so it asks for //metadata/endpoints;
// both spellings are routed rather than redirected. Everything under /subscriptions and
// /providers is served by the ARM router (armTable), which Handler puts ahead of the mux.
func (s *Server) armRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /metadata/endpoints", s.handleCloudEndpoints)
	mux.HandleFunc("GET /{$}", s.handleRoot)
	mux.HandleFunc("GET /tenants", s.withCaller(s.handleTenants))
}

// handleRoot answers GET / with where the cloud metadata is.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"name": "Latch", "metadata": s.URL + "/metadata/endpoints?api-version=2022-09-01"})
}

// FixDoubleSlash rewrites a leading "//" to "/" before routing, since az's cloud
// registration sends //metadata/endpoints and a redirect would lose it.
func FixDoubleSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "//") {
			r.URL.Path = "/" + strings.TrimLeft(r.URL.Path, "/")
			r.URL.RawPath = ""
		}
		next.ServeHTTP(w, r)
	})
}

// handleCloudEndpoints describes this server as an Azure cloud. The object form answers
// `az cloud register --endpoint-resource-manager`; with api-version 2022-09-01 and later an
// array (ARM_CLOUD_METADATA_URL's form) is returned.
func (s *Server) handleCloudEndpoints(w http.ResponseWriter, r *http.Request) {
	base := s.URL + "/"
	auth := map[string]any{"loginEndpoint": s.URL + "/adfs", "audiences": []string{s.armAudience()},
		"tenant": "common", "identityProvider": "AAD"}
	if v := r.URL.Query().Get("api-version"); v >= "2022-09-01" {
		writeJSON(w, http.StatusOK, []map[string]any{{
			"name": "Latch", "resourceManager": base, "microsoftGraphResourceId": s.graphAudience(),
			"graph": s.URL + "/graph/", "graphAudience": s.URL + "/graph/", "portal": s.URL + "/portal/",
			"authentication": auth, "suffixes": map[string]string{},
		}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"galleryEndpoint": base, "graphEndpoint": s.URL + "/graph/", "portalEndpoint": s.URL + "/portal/",
		"authentication": auth,
	})
}

// withCaller authenticates the request and hands the caller to h.
func (s *Server) withCaller(h func(http.ResponseWriter, *http.Request, Caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err == nil {
			err = s.requireAudience(c, s.armAudience())
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r, c)
	}
}

func (s *Server) handleTenants(w http.ResponseWriter, r *http.Request, c Caller) {
	t, err := s.Store.GetTenant(r.Context(), c.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": []map[string]any{{
		"id": "/tenants/" + t.ID, "tenantId": t.ID, "displayName": t.DisplayName, "tenantCategory": "Home",
		"defaultDomain": t.DefaultDomain, "domains": []string{t.DefaultDomain}, "tenantType": "AAD",
	}}})
}

// subscriptionJSON is ARM's subscription shape.
func subscriptionJSON(id, tenantID, name, state string) map[string]any {
	return map[string]any{"id": "/subscriptions/" + id, "subscriptionId": id, "tenantId": tenantID,
		"displayName": name, "state": state, "authorizationSource": "RoleBased", "managedByTenants": []any{},
		"subscriptionPolicies": map[string]string{"locationPlacementId": "Public_2014-09-01", "quotaId": "Latch_2026-01-01", "spendingLimit": "Off"}}
}

// listSubscriptions lists the subscriptions of the caller's tenant that the caller may read.
func listSubscriptions(q *armRequest) (int, any, error) {
	subs, err := q.s.Store.ListSubscriptions(q.ctx, q.tenantID())
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]any, 0, len(subs))
	for _, sub := range subs {
		scope := scopeOrZero(sub.ARMID())
		if q.authz.allowed(opSubRead, scope) || q.authz.holdsRoleWithin(scope) {
			out = append(out, subscriptionJSON(sub.ID, sub.TenantID, sub.DisplayName, sub.State))
		}
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

// getSubscription answers one subscription the caller may read.
func getSubscription(q *armRequest) (int, any, error) {
	sub, err := q.subscription()
	if err != nil {
		return 0, nil, err
	}
	if scope := scopeOrZero(sub.ARMID()); !q.authz.holdsRoleWithin(scope) {
		if err := q.authz.require(opSubRead, scope); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, subscriptionJSON(sub.ID, sub.TenantID, sub.DisplayName, sub.State), nil
}
