package httpapi

import (
	"net/http"
	"strings"

	"github.com/latchsh/latch/errs"
)

// armRoutes registers the ARM-shaped API: cloud metadata, tenants and subscriptions.
// az registers a cloud with a trailing-slash endpoint, so it asks for //metadata/endpoints;
// both spellings are routed rather than redirected.
func (s *Server) armRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /metadata/endpoints", s.handleCloudEndpoints)
	mux.HandleFunc("GET /{$}", s.handleRoot)
	mux.HandleFunc("GET /tenants", s.withCaller(s.handleTenants))
	mux.HandleFunc("GET /subscriptions", s.withCaller(s.handleSubscriptions))
	mux.HandleFunc("GET /subscriptions/{sub}", s.withCaller(s.handleSubscription))
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

// handleSubscriptions lists the caller's tenant's subscriptions. Which of them the caller may
// see is decided by role assignments once the access-control model lands; until then every
// principal of the tenant sees the tenant's subscriptions.
func (s *Server) handleSubscriptions(w http.ResponseWriter, r *http.Request, c Caller) {
	subs, err := s.Store.ListSubscriptions(r.Context(), c.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(subs))
	for _, sub := range subs {
		out = append(out, subscriptionJSON(sub.ID, sub.TenantID, sub.DisplayName, sub.State))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) handleSubscription(w http.ResponseWriter, r *http.Request, c Caller) {
	const op = "httpapi.handleSubscription"
	subs, err := s.Store.ListSubscriptions(r.Context(), c.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, sub := range subs {
		if strings.EqualFold(sub.ID, r.PathValue("sub")) {
			writeJSON(w, http.StatusOK, subscriptionJSON(sub.ID, sub.TenantID, sub.DisplayName, sub.State))
			return
		}
	}
	s.writeError(w, r, errs.E(op, errs.NotFound, errs.Code("SubscriptionNotFound"),
		"The subscription '"+truncate(r.PathValue("sub"), 64)+"' could not be found."))
}
