package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// oauthRoutes registers the token service at Entra's paths and at the AD FS-shaped /adfs
// authority (which az's MSAL needs to skip instance discovery).
func (s *Server) oauthRoutes(mux *http.ServeMux) {
	for _, p := range []struct{ prefix, wellKnown, oauth, keys string }{
		{"/{tenant}", "/v2.0/.well-known/openid-configuration", "/oauth2/v2.0", "/discovery/v2.0/keys"},
		{"/adfs", "/.well-known/openid-configuration", "/oauth2", "/discovery/keys"},
	} {
		mux.HandleFunc("GET "+p.prefix+p.wellKnown, s.handleDiscovery)
		mux.HandleFunc("GET "+p.prefix+p.keys, s.handleJWKS)
		mux.HandleFunc("GET "+p.prefix+p.oauth+"/authorize", s.handleAuthorize)
		mux.HandleFunc("POST "+p.prefix+p.oauth+"/authorize", s.handleAuthorize)
		mux.HandleFunc("POST "+p.prefix+p.oauth+"/token", s.handleToken)
		mux.HandleFunc("POST "+p.prefix+p.oauth+"/devicecode", s.handleDeviceCode)
	}
	mux.HandleFunc("GET /{tenant}/ssh/ca", s.handleSSHCA) // oauth_sshcert.go
	mux.HandleFunc("GET /devicelogin", s.handleDeviceLogin)
	mux.HandleFunc("POST /devicelogin", s.handleDeviceLogin)
}

// authority is the tenant an OAuth request is for and the URLs it is served under.
type authority struct {
	Tenant directory.Tenant
	Base   string // e.g. https://host/{tid}/oauth2/v2.0 or https://host/adfs/oauth2
	Issuer string
	Keys   string
	ADFS   bool
}

func (a authority) endpoint(name string) string { return a.Base + "/" + name }

// resolveAuthority maps the {tenant} path segment — a tenant id, a domain, or the aliases
// "organizations" and "common" — or the /adfs prefix to a tenant and its URLs.
func (s *Server) resolveAuthority(r *http.Request) (authority, error) {
	ctx := r.Context()
	if strings.HasPrefix(r.URL.Path, "/adfs/") {
		t, err := s.tenant(ctx, s.HomeTenantID)
		if err != nil {
			return authority{}, err
		}
		return authority{Tenant: t, Base: s.URL + "/adfs/oauth2", Issuer: s.URL + "/adfs",
			Keys: s.URL + "/adfs/discovery/keys", ADFS: true}, nil
	}
	t, err := s.lookupTenant(ctx, r.PathValue("tenant"))
	if err != nil {
		return authority{}, err
	}
	root := s.URL + "/" + t.ID
	return authority{Tenant: t, Base: root + "/oauth2/v2.0", Issuer: root + "/v2.0",
		Keys: root + "/discovery/v2.0/keys"}, nil
}

func (s *Server) lookupTenant(ctx context.Context, seg string) (directory.Tenant, error) {
	const op = "httpapi.lookupTenant"
	switch strings.ToLower(seg) {
	case "organizations", "common", "consumers":
		return s.tenant(ctx, s.HomeTenantID)
	}
	if directory.IsGUID(seg) {
		t, err := s.tenant(ctx, strings.ToLower(seg))
		if err == nil || !errs.Is(err, errs.NotFound) {
			return t, err
		}
	} else {
		tenants, err := s.Store.ListTenants(ctx)
		if err != nil {
			return directory.Tenant{}, err
		}
		for _, t := range tenants {
			if strings.EqualFold(t.DefaultDomain, seg) {
				return t, nil
			}
		}
	}
	return directory.Tenant{}, errs.E(op, errs.NotFound, errs.Code("invalid_tenant"),
		"AADSTS90002: Tenant '"+truncate(seg, 64)+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
}

// handleDiscovery serves the OpenID Provider metadata. MSAL requires authorization_endpoint,
// token_endpoint and issuer; MSAL Go derives the device-code URL by replacing "token" in the
// token endpoint, which these paths allow.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	a, err := s.resolveAuthority(r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	alg := a.Tenant.SigningAlg
	if alg == "" {
		alg = "ES256"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                           a.Issuer,
		"authorization_endpoint":                           a.endpoint("authorize"),
		"token_endpoint":                                   a.endpoint("token"),
		"device_authorization_endpoint":                    a.endpoint("devicecode"),
		"jwks_uri":                                         a.Keys,
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query", "form_post"},
		"grant_types_supported":                            []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"},
		"subject_types_supported":                          []string{"pairwise"},
		"id_token_signing_alg_values_supported":            []string{alg},
		"scopes_supported":                                 []string{"openid", "profile", "email", "offline_access"},
		"token_endpoint_auth_methods_supported":            []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "PS256", "ES256"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"authorization_response_iss_parameter_supported":   true,
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce",
			"oid", "tid", "upn", "preferred_username", "name", "amr"},
		"tenant_region_scope": "WW",
		"cloud_instance_name": hostOf(s.URL),
		"msgraph_host":        hostOf(s.URL),
	})
}

func hostOf(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// handleJWKS serves the tenant's public signing keys, old ones included until every token
// they signed has expired.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	a, err := s.resolveAuthority(r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	body, err := s.Tokens.JWKS(r.Context(), a.Tenant.ID)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(body)
}
