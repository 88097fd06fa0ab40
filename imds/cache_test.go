package imds

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

const armResource = "https://management.azure.com/"

// waitFor polls cond for up to 5 s; the goroutines it waits on are already started.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestCacheOneCallForConcurrentRequests: 50 requests for one key while the control plane is
// slow make exactly one call, and all 50 get its token.
func TestCacheOneCallForConcurrentRequests(t *testing.T) {
	s, src, _ := newTestServer(t, Config{}, systemID)
	release := make(chan struct{})
	src.mint = func(ctx context.Context, id Identity, r string, _ bool) (Token, error) {
		<-release
		return Token{AccessToken: testJWT, ExpiresOn: t0.Add(time.Hour)}, nil
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			tok, err := s.cache.get(context.Background(), systemID, armResource, false)
			if err == nil && tok.AccessToken != testJWT {
				err = fmt.Errorf("token %q", tok.AccessToken)
			}
			errs <- err
		})
	}
	waitFor(t, "all requests to join the call", func() bool { return s.cache.waiting(systemID.ObjectID, armResource) == n })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := src.callCount(systemID, armResource); got != 1 {
		t.Fatalf("%d calls to the control plane, want 1", got)
	}
}

// TestCacheRefreshesAhead moves the fake clock across the refresh point of a long token (5
// minutes before expiry) and a short one (halfway).
func TestCacheRefreshesAhead(t *testing.T) {
	for _, c := range []struct {
		name          string
		life          time.Duration
		before, after time.Duration // clock offsets just before and at the refresh point
	}{
		{"ok/hour-token-refreshed-5-minutes-ahead", time.Hour, 55*time.Minute - time.Second, 55 * time.Minute},
		{"ok/4-minute-token-refreshed-halfway", 4 * time.Minute, 2*time.Minute - time.Second, 2 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, src, clock := newTestServer(t, Config{}, systemID)
			src.mint = func(context.Context, Identity, string, bool) (Token, error) {
				now := clock.Now()
				return Token{AccessToken: now.Format(time.TimeOnly), ExpiresOn: now.Add(c.life)}, nil
			}
			get := func() string {
				tok, err := s.cache.get(context.Background(), systemID, armResource, false)
				if err != nil {
					t.Fatal(err)
				}
				return tok.AccessToken
			}
			first := get()
			clock.Add(c.before)
			if get() != first || src.callCount(systemID, armResource) != 1 {
				t.Fatalf("refreshed before the refresh point")
			}
			clock.Add(c.after - c.before)
			if get() == first || src.callCount(systemID, armResource) != 2 {
				t.Fatalf("not refreshed at the refresh point")
			}
		})
	}
}

func TestCacheBypassIsRateLimited(t *testing.T) {
	s, src, clock := newTestServer(t, Config{}, systemID)
	bypass := func() {
		if _, err := s.cache.get(context.Background(), systemID, armResource, true); err != nil {
			t.Fatal(err)
		}
	}
	bypass() // nothing cached: a call
	clock.Add(4 * time.Second)
	bypass() // the token is 4 s old: as good as new
	if got := src.callCount(systemID, armResource); got != 1 {
		t.Fatalf("%d calls within the bypass interval, want 1", got)
	}
	clock.Add(time.Second)
	bypass()
	if got := src.callCount(systemID, armResource); got != 2 {
		t.Fatalf("%d calls after the bypass interval, want 2", got)
	}
	w := serve(s, tokenPath+"?"+v18+"&"+arm+"&bypass_cache=true")
	if w.Code != 200 || src.callCount(systemID, armResource) != 2 {
		t.Fatalf("bypass_cache over HTTP right after a call: %d, %d calls", w.Code, src.callCount(systemID, armResource))
	}
	clock.Add(10 * time.Second)
	serve(s, tokenPath+"?"+v18+"&"+arm+"&bypass_cache=True")
	if got := src.callCount(systemID, armResource); got != 3 {
		t.Fatalf("bypass_cache=True over HTTP: %d calls, want 3", got)
	}
}

// TestCacheServesValidTokenWhenRefreshFails: a transient failure at the refresh point serves
// the cached token while it lasts; a definite refusal does not.
func TestCacheServesValidTokenWhenRefreshFails(t *testing.T) {
	s, src, clock := newTestServer(t, Config{}, systemID)
	var fail error
	src.mint = func(context.Context, Identity, string, bool) (Token, error) {
		if fail != nil {
			return Token{}, fail
		}
		return Token{AccessToken: testJWT, ExpiresOn: clock.Now().Add(time.Hour)}, nil
	}
	get := func() error { _, err := s.cache.get(context.Background(), systemID, armResource, false); return err }
	if err := get(); err != nil {
		t.Fatal(err)
	}
	clock.Add(56 * time.Minute)
	fail = errors.New("control plane unreachable")
	if err := get(); err != nil {
		t.Fatalf("fail/transient: %v, want the cached token", err)
	}
	clock.Add(5 * time.Minute)
	if err := get(); err == nil {
		t.Fatal("fail/transient-after-expiry: served an expired token")
	}
	fail = ErrIdentityNotFound
	if w := serve(s, tokenPath+"?"+v18+"&"+arm); w.Code != 400 {
		t.Fatalf("fail/identity-removed: %d", w.Code)
	}
}

func TestCacheDefiniteRefusalDropsToken(t *testing.T) {
	s, src, clock := newTestServer(t, Config{}, systemID)
	var fail error
	src.mint = func(context.Context, Identity, string, bool) (Token, error) {
		return Token{AccessToken: testJWT, ExpiresOn: clock.Now().Add(time.Hour)}, fail
	}
	_, _ = s.cache.get(context.Background(), systemID, armResource, false)
	clock.Add(56 * time.Minute)
	fail = ErrIdentityNotFound
	if _, err := s.cache.get(context.Background(), systemID, armResource, false); !errors.Is(err, ErrIdentityNotFound) {
		t.Fatalf("fail/identity-removed: %v, want ErrIdentityNotFound, not the cached token", err)
	}
}

// TestCacheWaiterGivingUpDoesNotFailOthers: one caller's cancelled context ends its wait only.
func TestCacheWaiterGivingUpDoesNotFailOthers(t *testing.T) {
	s, src, _ := newTestServer(t, Config{}, systemID)
	release := make(chan struct{})
	src.mint = func(ctx context.Context, _ Identity, _ string, _ bool) (Token, error) {
		<-release
		return Token{AccessToken: testJWT, ExpiresOn: t0.Add(time.Hour)}, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() { _, err := s.cache.get(ctx, systemID, armResource, false); gone <- err }()
	kept := make(chan error, 1)
	go func() { _, err := s.cache.get(context.Background(), systemID, armResource, false); kept <- err }()
	waitFor(t, "two waiters", func() bool { return s.cache.waiting(systemID.ObjectID, armResource) == 2 })
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	close(release)
	if err := <-kept; err != nil {
		t.Fatalf("the other waiter failed: %v", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	s, _, _ := newTestServer(t, Config{MaxCachedTokens: 3}, systemID)
	for i := range 10 {
		if _, err := s.cache.get(context.Background(), systemID, fmt.Sprintf("api://r%d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.cache.entries); n > 3 {
		t.Fatalf("%d cached tokens, cap 3", n)
	}
}

func TestRefreshTime(t *testing.T) {
	for _, c := range []struct{ life, want time.Duration }{
		{24 * time.Hour, 24*time.Hour - 5*time.Minute}, {10 * time.Minute, 5 * time.Minute},
		{9 * time.Minute, 270 * time.Second}, {2 * time.Second, time.Second},
	} {
		if got := refreshTime(t0.Add(c.life), t0).Sub(t0); got != c.want {
			t.Errorf("life %v: refresh after %v, want %v", c.life, got, c.want)
		}
	}
}
