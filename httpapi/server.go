package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/metrics"
	"github.com/latchsh/latch/risk"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

// Server holds what every handler needs. Build one with its fields set, then call Handler.
type Server struct {
	Store   store.Store
	Tokens  *token.Service
	Secrets *authn.SecretVerifier
	Log     *slog.Logger
	Now     func() time.Time
	// URL is the public base URL, e.g. https://latch.example:8443, without a trailing slash.
	URL string
	// HomeTenantID is the tenant the /adfs authority and "organizations"/"common" stand for.
	HomeTenantID string
	// Risk holds the admin's geo table and known-bad addresses for sign-in risk (risk.go).
	Risk RiskTables

	riskRecentFailures ttlCache[[]risk.Past] // by tenant id (risk.go)

	tenants ttlCache[directory.Tenant]           // by id
	clients ttlCache[directory.ServicePrincipal] // by tenant id and lower-case appId
	sshCAs  ttlCache[*token.SSHCA]               // by tenant id

	changes changeNotifier // per-tenant change generations (changes.go)
	goals   goalStates     // machines' goal states: login caches, open long-polls (machine_goalstate.go)
	ca      caState        // compiled Conditional Access policies and the sign-in log's queue (ca_enforce.go)
}

// How long the token endpoint trusts what it read of a tenant and of a client. A disabled
// client or a removed secret takes at most clientTTL to be refused by every replica.
const (
	tenantTTL = 5 * time.Second
	clientTTL = 2 * time.Second
	sshCATTL  = time.Hour
)

// tenant reads a tenant through the cache.
func (s *Server) tenant(ctx context.Context, id string) (directory.Tenant, error) {
	return s.tenants.get(id, s.now(), tenantTTL, func() (directory.Tenant, error) { return s.Store.GetTenant(ctx, id) })
}

// Audiences for the server's own APIs, as az and the SDKs name them.
func (s *Server) armAudience() string   { return s.URL + "/arm/" }
func (s *Server) graphAudience() string { return s.URL + "/" }

// Handler returns the whole HTTP surface with logging and correlation ids around it.
func (s *Server) Handler() http.Handler {
	mux := s.routes()
	mux.Handle("/", s.unrouted())
	return FixDoubleSlash(s.withCorrelation(s.withChangeNotes(s.armRouter(armTable(), mux))))
}

// routes registers every route on a new mux (the route-inventory test walks it).
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	s.oauthRoutes(mux)
	s.graphRoutes(mux)
	s.armRoutes(mux)
	s.webRoutes(mux)
	s.machineRoutes(mux)
	return mux
}

// unrouted answers paths no route matches with the error shape of the API family the path
// belongs to, instead of a bare text 404. It is registered as "/", which every other pattern
// outranks, because a "/v1.0/" catch-all would conflict with the token service's "/{tenant}/…"
// patterns.
func (s *Server) unrouted() http.Handler {
	graphMissing := s.graph(graphNoRoute)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/") || strings.HasPrefix(r.URL.Path, "/beta/") {
			graphMissing(w, r)
			return
		}
		s.writeError(w, r, errs.E("httpapi.unrouted", errs.NotFound, errs.Code("NotFound"),
			"No API answers "+r.Method+" "+truncate(r.URL.Path, 200)+"."))
	})
}

type ctxKey int

const correlationKey ctxKey = iota

// CorrelationID returns the request's correlation id ("" outside a request).
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey).(string)
	return id
}

// withCorrelation gives each request a correlation id — the client's
// x-ms-correlation-request-id or client-request-id when it is a sane token, else a new one —
// echoes it in the response headers, and logs the request once it is done.
func (s *Server) withCorrelation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := saneID(r.Header.Get("x-ms-correlation-request-id"))
		if id == "" {
			id = saneID(r.Header.Get("client-request-id"))
		}
		if id == "" {
			id = newID()
		}
		w.Header().Set("x-ms-correlation-request-id", id)
		w.Header().Set("x-ms-request-id", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Cache-Control", "no-store")
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		inner := r.WithContext(context.WithValue(r.Context(), correlationKey, id))
		next.ServeHTTP(rec, inner)
		metrics.NotePattern(inner) // the mux set the route on this copy, not on r
		s.Log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("correlationId", id), slog.String("method", r.Method),
			slog.String("route", inner.Pattern), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// saneID accepts a client-sent id only if it is short and made of safe characters, so it can
// go into logs and headers as it is.
func saneID(s string) string {
	if len(s) == 0 || len(s) > 64 {
		return ""
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return ""
		}
	}
	return strings.ToLower(s)
}

// newID returns a random GUID-shaped id.
func newID() string {
	var b [16]byte
	mustRand(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// mustRand fills b from the system's random source. crypto/rand never fails on Linux; if it
// did, continuing would hand out guessable secrets, so it panics instead.
func mustRand(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
}
