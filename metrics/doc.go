// Package metrics exposes `latch serve`'s Prometheus metrics: a count and a latency histogram
// of HTTP requests by route pattern and status code, plus the Go runtime and process metrics.
//
// Labels come only from bounded sets: the ServeMux pattern that matched (never the raw path,
// which holds tenant ids, object ids and anything a client invents) and the status code. It
// must not label by user, tenant, client or path, and it must not import the store or the
// domain packages; it sees requests and nothing else.
package metrics
