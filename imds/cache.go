package imds

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// tokenCache keeps one token per (identity, resource), refreshes it ahead of expiry, and lets
// only one call to the control plane be in flight per key: every request that finds no usable
// token while a call is running waits for that call instead of starting its own.
type tokenCache struct {
	fetch   func(ctx context.Context, id Identity, resource string, bypass bool) (Token, error)
	now     func() time.Time
	bypass  time.Duration
	timeout time.Duration
	max     int

	// mu is read-locked by the lookup every request makes and write-locked only to start or
	// end a control-plane call: cached answers do not queue behind each other.
	mu      sync.RWMutex
	entries map[cacheKey]*entry
	flights map[cacheKey]*flight
}

type cacheKey struct{ objectID, resource string }

// entry is one cached token. tok, fetched and refreshAt never change once it is stored; a
// new token is a new entry.
type entry struct {
	tok       Token
	fetched   time.Time
	refreshAt time.Time
	// answers holds the last body written for this token in each answer shape (see
	// answer.go), so that the requests of one second share one encoding.
	answers [answerShapes]atomic.Pointer[rendition]
}

// flight is one call to the control plane and the requests waiting for it.
type flight struct {
	done    chan struct{}
	entry   *entry // the stored entry when err is nil
	err     error
	waiters int // requests waiting; read by tests to know everyone has joined
}

// refreshBefore is how long before expiry a token is replaced; a token shorter-lived than
// twice this is replaced halfway through its life instead.
const refreshBefore = 5 * time.Minute

func newTokenCache(fetch func(context.Context, Identity, string, bool) (Token, error), cfg Config) *tokenCache {
	return &tokenCache{fetch: fetch, now: cfg.Now, bypass: cfg.BypassInterval, timeout: cfg.TokenTimeout,
		max: cfg.MaxCachedTokens, entries: map[cacheKey]*entry{}, flights: map[cacheKey]*flight{}}
}

// get returns a token for id and resource, from the cache when it is not due for refresh.
// bypass asks for a new token unless the cached one is younger than the bypass interval.
// When a refresh fails for a reason other than a definite refusal, a cached token that has
// not expired is still returned: a control plane down for a minute must not break programs.
func (c *tokenCache) get(ctx context.Context, id Identity, resource string, bypass bool) (Token, error) {
	e, err := c.getEntry(ctx, id, resource, bypass)
	if err != nil {
		return Token{}, err
	}
	return e.tok, nil
}

// getEntry is get returning the cache entry, whose answers the handler reuses.
func (c *tokenCache) getEntry(ctx context.Context, id Identity, resource string, bypass bool) (*entry, error) {
	k := cacheKey{id.ObjectID, resource}
	c.mu.RLock()
	e := c.entries[k]
	c.mu.RUnlock()
	if e != nil && c.usable(e, bypass) {
		return e, nil
	}
	c.mu.Lock()
	if e = c.entries[k]; e != nil && c.usable(e, bypass) { // filled between the two locks
		c.mu.Unlock()
		return e, nil
	}
	f := c.join(k, id, resource, bypass)
	c.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		c.leave(f)
		return nil, ctx.Err()
	}
	c.leave(f)
	if f.err != nil && e != nil && !definite(f.err) && c.now().Before(e.tok.ExpiresOn) {
		return e, nil
	}
	return f.entry, f.err
}

// usable reports whether e may be served without asking the control plane.
func (c *tokenCache) usable(e *entry, bypass bool) bool {
	now := c.now()
	if bypass {
		return now.Sub(e.fetched) < c.bypass && now.Before(e.refreshAt)
	}
	return now.Before(e.refreshAt)
}

// join returns the flight for k, starting one if none is running. c.mu must be held.
func (c *tokenCache) join(k cacheKey, id Identity, resource string, bypass bool) *flight {
	f := c.flights[k]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flights[k] = f
		go c.run(k, f, id, resource, bypass)
	}
	f.waiters++
	return f
}

func (c *tokenCache) leave(f *flight) {
	c.mu.Lock()
	f.waiters--
	c.mu.Unlock()
}

// run makes the call for a flight. It does not use any waiter's context: a caller that gives
// up must not fail the others, and a finished call still fills the cache for the next one.
func (c *tokenCache) run(k cacheKey, f *flight, id Identity, resource string, bypass bool) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	tok, err := c.fetch(ctx, id, resource, bypass)
	fetched := c.now()
	if err == nil {
		err = checkToken(tok, fetched)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.flights, k)
	f.err = err
	switch {
	case err == nil:
		f.entry = &entry{tok: tok, fetched: fetched, refreshAt: refreshTime(tok.ExpiresOn, fetched)}
		c.store(k, f.entry)
	case definite(err):
		delete(c.entries, k)
	}
	close(f.done)
}

// checkToken refuses what the control plane should never send.
func checkToken(tok Token, now time.Time) error {
	if tok.AccessToken == "" || !tok.ExpiresOn.After(now) {
		return fmt.Errorf("imds: the control plane returned an empty or expired token (expires %v)", tok.ExpiresOn)
	}
	return nil
}

// refreshTime is when a token received at fetched is replaced.
func refreshTime(expires, fetched time.Time) time.Time {
	life := expires.Sub(fetched)
	if life >= 2*refreshBefore {
		return expires.Add(-refreshBefore)
	}
	return fetched.Add(life / 2)
}

// definite reports errors that a retry will not change: the cached token must not outlive them.
func definite(err error) bool {
	return errors.Is(err, ErrIdentityNotFound) || errors.Is(err, ErrInvalidResource)
}

// store adds e, making room first: expired entries go, then (the cache being full of live
// tokens for callers' chosen resources) an arbitrary one; it will be fetched again if needed.
func (c *tokenCache) store(k cacheKey, e *entry) {
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		c.evict()
	}
	c.entries[k] = e
}

func (c *tokenCache) evict() {
	now := c.now()
	for k, e := range c.entries {
		if !now.Before(e.tok.ExpiresOn) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max {
			return
		}
		delete(c.entries, k)
	}
}

// waiting reports how many requests wait on the flight for (objectID, resource); for tests.
func (c *tokenCache) waiting(objectID, resource string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[cacheKey{objectID, resource}]; f != nil {
		return f.waiters
	}
	return 0
}
