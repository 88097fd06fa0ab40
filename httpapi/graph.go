package httpapi

import "net/http"

// graphRoutes registers the Graph-shaped directory API under /v1.0/.
func (s *Server) graphRoutes(mux *http.ServeMux) {}
