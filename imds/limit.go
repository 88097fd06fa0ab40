package imds

import (
	"sync"
	"sync/atomic"
	"time"
)

// limiter is a token bucket per key (rate requests per second, burst of the same size) with,
// optionally, a cap on requests in flight per key. Keys are identities or caller addresses;
// each has its own bucket, so one key's flood never spends another key's budget.
//
// Each bucket has its own lock, and the map of buckets is read under a shared lock: requests
// for different identities do not wait for each other, and requests for one identity hold the
// map only as long as a lookup. A single lock for everything was the service's most contended
// one under load.
//
// Keys come only from identities the Source lists and from addresses that passed the
// local-caller check, so their number stays small; idle buckets are still dropped (sweep)
// so the map cannot grow over a long life.
type limiter struct {
	rate  float64
	burst float64 // rate, at least 1
	conc  int     // 0: no cap
	now   func() time.Time

	mu      sync.RWMutex // guards the map, not the buckets in it
	buckets map[string]*bucket
	swept   atomic.Int64 // UnixNano of the last sweep
}

type bucket struct {
	mu       sync.Mutex
	tokens   float64
	last     time.Time
	inflight int
	dropped  bool // removed from the map by a sweep: take a fresh bucket instead
}

const sweepEvery = time.Minute

func newLimiter(rate float64, conc int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: max(rate, 1), conc: conc, now: now, buckets: map[string]*bucket{}}
}

// acquire takes one request's share for key. When it returns ok, the caller must call
// release(b) once the request is answered. (A bucket, not a closure, so that an answered
// request allocates nothing here.)
func (l *limiter) acquire(key string) (b *bucket, ok bool) {
	now := l.now()
	l.sweep(now)
	for {
		b = l.bucket(key, now)
		b.mu.Lock()
		if b.dropped { // swept between the lookup and the lock
			b.mu.Unlock()
			continue
		}
		b.refill(now, l.rate, l.burst)
		ok = b.tokens >= 1 && (l.conc == 0 || b.inflight < l.conc)
		if ok {
			b.tokens--
			b.inflight++
		}
		b.mu.Unlock()
		return b, ok
	}
}

// release ends a request acquire let through.
func (l *limiter) release(b *bucket) {
	b.mu.Lock()
	b.inflight--
	b.mu.Unlock()
}

// inflight is the number of requests in flight for key; for tests.
func (l *limiter) inflight(key string) int {
	l.mu.RLock()
	b := l.buckets[key]
	l.mu.RUnlock()
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inflight
}

func (l *limiter) bucket(key string, now time.Time) *bucket {
	l.mu.RLock()
	b := l.buckets[key]
	l.mu.RUnlock()
	if b != nil {
		return b
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b = l.buckets[key]; b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	return b
}

// refill adds what the time since the last request earned, up to the burst. A clock that
// went backwards earns nothing.
func (b *bucket) refill(now time.Time, rate, burst float64) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
		b.last = now
	}
}

// sweep drops buckets that are full and idle: forgetting them changes nothing. One request a
// minute does it; the others go on.
func (l *limiter) sweep(now time.Time) {
	last := l.swept.Load()
	if now.Sub(time.Unix(0, last)) < sweepEvery || !l.swept.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, b := range l.buckets {
		b.mu.Lock()
		if b.inflight == 0 && b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			b.dropped = true
			delete(l.buckets, k)
		}
		b.mu.Unlock()
	}
}
