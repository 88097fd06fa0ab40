package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Unmatched is the route label of requests no ServeMux pattern matched (404s, 405s).
const Unmatched = "unmatched"

// Metrics holds one registry per server, so tests and several servers in one process never
// collide on the global default registry.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns Metrics with the HTTP request metrics and the Go runtime and process collectors
// registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_http_requests_total",
			Help: "HTTP requests served, by matched route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by matched route pattern and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "code"}),
	}
	m.reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry lets other packages' collectors join the same /metrics page.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

type routeKey struct{}

// route carries the innermost matched pattern back up to the middleware.
type route struct{ pattern string }

// NotePattern records r.Pattern as the route of the request being measured. A handler that
// routes with its own ServeMux and passes a copy of the request on (r.WithContext) calls it
// after its mux has run, because the middleware cannot see the copy's Pattern. Outside a
// measured request it does nothing.
func NotePattern(r *http.Request) {
	if rt, ok := r.Context().Value(routeKey{}).(*route); ok && r.Pattern != "" {
		rt.pattern = r.Pattern
	}
}

// Middleware measures every request served by next, which is normally a ServeMux: the route
// label is the pattern noted by NotePattern, else the pattern next matched, else Unmatched.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := &route{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, rt))
		rec := &recorder{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(rec, r)
		label := rt.pattern
		if label == "" {
			label = r.Pattern // set in place by a ServeMux that next is
		}
		if label == "" {
			label = Unmatched
		}
		code := strconv.Itoa(rec.statusCode())
		m.requests.WithLabelValues(label, code).Inc()
		m.duration.WithLabelValues(label, code).Observe(time.Since(start).Seconds())
	})
}

// recorder remembers the status code written.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 { // 1xx are interim; the final status follows
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) statusCode() int {
	if r.status == 0 {
		return http.StatusOK // nothing written: net/http sends 200
	}
	return r.status
}

// Unwrap lets http.ResponseController reach Flush, deadlines and hijacking underneath.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
