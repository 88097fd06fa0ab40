package imds

import (
	"sync"
	"time"
)

// limiter is a token bucket per key (rate requests per second, burst of the same size) with,
// optionally, a cap on requests in flight per key. Keys are identities or caller addresses;
// each has its own bucket, so one key's flood never spends another key's budget.
//
// Keys come only from identities the Source lists and from addresses that passed the
// local-caller check, so their number stays small; idle buckets are still dropped (sweep)
// so the map cannot grow over a long life.
type limiter struct {
	rate  float64
	burst float64 // rate, at least 1
	conc  int     // 0: no cap
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens   float64
	last     time.Time
	inflight int
}

const sweepEvery = time.Minute

func newLimiter(rate float64, conc int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: max(rate, 1), conc: conc, now: now, buckets: map[string]*bucket{}}
}

// acquire takes one request's share for key. When it returns ok, the caller must call done
// once the request is answered.
func (l *limiter) acquire(key string) (done func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b := l.bucket(key, now)
	b.refill(now, l.rate, l.burst)
	if b.tokens < 1 || (l.conc > 0 && b.inflight >= l.conc) {
		return nil, false
	}
	b.tokens--
	b.inflight++
	return func() { l.release(b) }, true
}

func (l *limiter) release(b *bucket) {
	l.mu.Lock()
	b.inflight--
	l.mu.Unlock()
}

func (l *limiter) bucket(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
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

// sweep drops buckets that are full and idle: forgetting them changes nothing.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < sweepEvery {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if b.inflight == 0 && b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
