package httpapi

import (
	"sync"
	"time"
)

// ttlCache keeps values for a few seconds so that the token endpoint's hot path — the tenant
// and the client, read on every request — does not cost two database reads per token. The
// store stays the source of truth: a change made on any replica is seen here within the TTL.
// The zero value is ready to use.
type ttlCache[V any] struct {
	mu sync.Mutex
	m  map[string]cached[V]
}

type cached[V any] struct {
	v       V
	expires time.Time
}

// maxCached bounds the memory a flood of distinct keys can take; past it the cache is
// emptied, which costs only database reads.
const maxCached = 10000

// get returns the value for key, loading it with load when absent or older than ttl. Errors
// are not cached, so a refusal (unknown client) is always decided by the store.
func (c *ttlCache[V]) get(key string, now time.Time, ttl time.Duration, load func() (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string]cached[V])
	}
	c.m[key] = cached[V]{v: v, expires: now.Add(ttl)}
	c.mu.Unlock()
	return v, nil
}
