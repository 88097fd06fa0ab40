package token

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Cache timing. Keys are re-read at most every cacheTTL so that signing is not bounded by the
// store; a kid the cache does not know forces a re-read at most every missInterval per
// tenant, so a stream of forged kids cannot turn into a stream of queries.
const (
	cacheTTL     = 5 * time.Second
	missInterval = 10 * time.Second
	maxTenants   = 10000 // cached key sets; beyond it an arbitrary one is dropped
)

type keyCache struct {
	mu      sync.RWMutex
	tenants map[string]*tenantKeys
}

// tenantKeys is one tenant's cache slot. load serialises reloads, so a cold cache hit by a
// thousand requests makes one query, not a thousand.
type tenantKeys struct {
	load     sync.Mutex
	set      atomic.Pointer[keySet]
	lastMiss atomic.Int64 // unix nanoseconds of the last forced reload for an unknown kid
}

func newKeyCache() *keyCache {
	return &keyCache{tenants: make(map[string]*tenantKeys)}
}

func (c *keyCache) slot(tenantID string) *tenantKeys {
	c.mu.RLock()
	t := c.tenants[tenantID]
	c.mu.RUnlock()
	if t != nil {
		return t
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t = c.tenants[tenantID]; t == nil {
		if len(c.tenants) >= maxTenants {
			for id := range c.tenants {
				delete(c.tenants, id)
				break
			}
		}
		t = &tenantKeys{}
		c.tenants[tenantID] = t
	}
	return t
}

// fresh reports whether set may be used at now without reloading. A clock that moved
// backwards (a test's, or a corrected host clock) counts as stale.
func fresh(set *keySet, now time.Time) bool {
	return set != nil && !now.Before(set.loaded) && now.Sub(set.loaded) < cacheTTL
}

// keySet returns the tenant's keys, from the cache when fresh or when force is false and
// another caller just reloaded them.
func (s *Service) keySet(ctx context.Context, tenantID string, now time.Time, force bool) (*keySet, error) {
	t := s.cache.slot(tenantID)
	if set := t.set.Load(); !force && fresh(set, now) {
		return set, nil
	}
	t.load.Lock()
	defer t.load.Unlock()
	if set := t.set.Load(); !force && fresh(set, now) {
		return set, nil
	}
	stored, err := s.store.ListSigningKeys(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	alg, err := s.tenantAlg(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	set, err := newKeySet(stored, alg, now)
	if err != nil {
		return nil, err
	}
	t.set.Store(set)
	return set, nil
}

// keyForVerify finds kid among the tenant's keys, re-reading the store once per missInterval
// when the cached set does not know it (a key another replica just added).
func (s *Service) keyForVerify(ctx context.Context, tenantID, kid string, now time.Time) (*key, error) {
	set, err := s.keySet(ctx, tenantID, now, false)
	if err != nil {
		return nil, err
	}
	if k := set.byKID[kid]; k != nil {
		return k, nil
	}
	t := s.cache.slot(tenantID)
	last := t.lastMiss.Load()
	if n := now.UnixNano(); n-last >= int64(missInterval) || n < last {
		// The loser of the swap waits for the winner's reload rather than forcing another.
		force := t.lastMiss.CompareAndSwap(last, n)
		if set, err = s.keySet(ctx, tenantID, now, force); err != nil {
			return nil, err
		}
	}
	return set.byKID[kid], nil
}
