package imds

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Server is the metadata service. Its handler is safe for concurrent use.
type Server struct {
	src    Source
	cfg    Config
	cache  *tokenCache
	idLim  *limiter // per identity, identity endpoints
	insLim *limiter // per caller address, instance endpoints
	hosts  *hostSet
	own    *ownAddrs
	header string
	// idIndex finds a named identity among many without a scan (identity_index.go).
	idIndex identityIndexes
}

// New returns a service answering from src. It panics if cfg does not Validate, as a
// misconfigured metadata service must not start; call cfg.Validate first to report problems.
func New(src Source, cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	s := &Server{src: src, cfg: cfg, hosts: newHostSet(cfg.Hosts), header: cfg.IdentityHeader}
	if s.header == "" {
		s.header = randomSecret()
	}
	s.own = &ownAddrs{list: cfg.LocalAddrs, now: cfg.Now}
	s.idLim = newLimiter(cfg.IdentityRate, cfg.IdentityConcurrency, cfg.Now)
	s.insLim = newLimiter(cfg.InstanceRate, 0, cfg.Now)
	s.cache = newTokenCache(src.Token, cfg)
	return s
}

// IdentityHeader is the secret callers of the App Service protocol send as X-IDENTITY-HEADER;
// the agent exports it to programs as IDENTITY_HEADER.
func (s *Server) IdentityHeader() string { return s.header }

// Handler serves every path of the service. It never redirects.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rt, sub, found := match(r.URL.Path)
	if ref, bad := s.guard(r, rt, found); bad {
		if ref.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rt.method)
		}
		ref.write(w, rt.fam)
		return
	}
	q, ref, bad := requestParams(r, rt)
	if bad {
		ref.write(w, rt.fam)
		return
	}
	if ref, bad := checkVersion(rt, q.Get("api-version")); bad {
		ref.write(w, rt.fam)
		return
	}
	rt.serve(s, w, r, request{q: q, sub: sub})
}

// guard applies the rules every path shares, in an order that tells a stranger the least:
// who is calling, through what, to which host, before anything about the path.
func (s *Server) guard(r *http.Request, rt route, found bool) (refusal, bool) {
	switch {
	case !s.isLocal(r):
		return errNotLocal, true
	case len(r.Header["X-Forwarded-For"]) > 0 || len(r.Header["Forwarded"]) > 0:
		// Present at all, even empty: only a proxy adds it, and a proxy means a remote caller.
		// (net/http canonicalizes the names it reads, so the map is indexed directly.)
		return errForwarded, true
	case !s.hosts.allows(r.Host):
		return errHost, true
	case !found:
		return errNotFound, true
	case r.Method != rt.method:
		return errMethod, true
	case rt.metadata && !strings.EqualFold(r.Header.Get("Metadata"), "true"):
		return errNoMetadata, true
	case rt.identityHeader && !s.identityHeaderOK(r):
		return errIdentityHeader, true
	}
	return refusal{}, false
}

// request is what a handler needs from the checked request.
type request struct {
	q   url.Values
	sub []string // path segments below /metadata/instance
}

// randomSecret makes an App Service identity header no local program can guess.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
