package httpapi

import "net/http"

// oauthRoutes registers the token service at Entra's paths and the /adfs authority.
func (s *Server) oauthRoutes(mux *http.ServeMux) {}
