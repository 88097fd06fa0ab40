package authn

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
)

const rightPassword = "correct horse battery staple"

// signIn is how a caller uses the lockout: Check, then evaluate, then Fail or Succeed. It
// reports whether the password was accepted, counting every evaluation.
func signIn(t *testing.T, l *Lockout, evals *atomic.Int64, account, address, pw string) (bool, error) {
	if err := l.Check(t.Context(), testTenant, account, address); err != nil {
		return false, err
	}
	evals.Add(1)
	if pw != rightPassword {
		return false, l.Fail(t.Context(), testTenant, account, address)
	}
	return true, l.Succeed(t.Context(), testTenant, account, address)
}

// TestLockoutBruteForce: 1,000 wrong passwords from 50 addresses against one account within
// an hour. At most 100 are evaluated; then even the right password is refused, with the same
// answer; after the hour it works.
func TestLockoutBruteForce(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)}
	l := NewLockout(newMemStore(), clock.Now, LockoutConfig{})
	var evals atomic.Int64
	var lockedMsg string
	for i := range 1000 {
		ok, err := signIn(t, l, &evals, "Alice@contoso.test", fmt.Sprintf("198.51.100.%d", i%50), fmt.Sprintf("guess-%04d", i))
		if ok {
			t.Fatal("a wrong password was accepted")
		}
		if err != nil {
			if !errs.Is(err, errs.TooMany) || errs.CodeOf(err) != "locked" {
				t.Fatalf("attempt %d: %v", i, err)
			}
			lockedMsg = errs.Message(err)
		}
		clock.Add(3590 * time.Millisecond) // 1,000 attempts spread over 59 m 50 s
	}
	if n := evals.Load(); n != DefaultMaxAccountFailures {
		t.Fatalf("%d passwords evaluated, want exactly %d", n, DefaultMaxAccountFailures)
	}
	ok, err := signIn(t, l, &evals, "alice@contoso.test", "203.0.113.9", rightPassword)
	if ok || !errs.Is(err, errs.TooMany) || errs.Message(err) != lockedMsg {
		t.Fatalf("fail/right-password-while-locked: ok=%v err=%v", ok, err)
	}
	if strings.Contains(strings.ToLower(lockedMsg), "password") {
		t.Fatalf("the lock message talks about the password: %q", lockedMsg)
	}
	clock.Add(10 * time.Second) // the window (and lock) ends one hour after the first attempt
	if ok, err := signIn(t, l, &evals, "alice@contoso.test", "203.0.113.9", rightPassword); !ok || err != nil {
		t.Fatalf("ok/after-the-window: ok=%v err=%v", ok, err)
	}
}

// TestLockoutConcurrent: the same flood at once; checking counts before evaluating, so no
// more than the limit is evaluated even when every attempt races.
func TestLockoutConcurrent(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)}
	l := NewLockout(newMemStore(), clock.Now, LockoutConfig{})
	var evals atomic.Int64
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() { signIn(t, l, &evals, "alice@contoso.test", fmt.Sprintf("198.51.100.%d", i%50), "wrong") })
	}
	wg.Wait()
	if n := evals.Load(); n > DefaultMaxAccountFailures {
		t.Fatalf("%d passwords evaluated, want at most %d", n, DefaultMaxAccountFailures)
	}
}

func TestLockoutRules(t *testing.T) {
	start := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	newL := func(cfg LockoutConfig) (*Lockout, *fakeClock, *memStore) {
		clock := &fakeClock{t: start}
		st := newMemStore()
		return NewLockout(st, clock.Now, cfg), clock, st
	}
	t.Run("fail/address-spray-across-accounts", func(t *testing.T) {
		l, _, _ := newL(LockoutConfig{MaxAddressFailures: 20})
		var evals atomic.Int64
		for i := range 30 {
			signIn(t, l, &evals, fmt.Sprintf("user%d@contoso.test", i), "192.0.2.1", "Winter2030!")
		}
		if evals.Load() != 20 {
			t.Fatalf("%d evaluated from one address, want 20", evals.Load())
		}
		if ok, err := signIn(t, l, &evals, "other@contoso.test", "192.0.2.2", rightPassword); !ok || err != nil {
			t.Fatalf("another address must not be locked: %v", err)
		}
	})
	t.Run("ok/success-does-not-count-nor-refill", func(t *testing.T) {
		l, _, _ := newL(LockoutConfig{MaxAccountFailures: 5})
		var evals atomic.Int64
		for range 4 {
			signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", "typo")
		}
		for range 10 {
			if ok, err := signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", rightPassword); !ok || err != nil {
				t.Fatalf("successes must not count as failures: %v", err)
			}
		}
		signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", "typo") // the fifth failure
		if _, err := signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", rightPassword); !errs.Is(err, errs.TooMany) {
			t.Fatalf("successes refilled the failure budget: %v", err)
		}
	})
	t.Run("ok/last-allowed-attempt-right", func(t *testing.T) {
		l, _, _ := newL(LockoutConfig{MaxAccountFailures: 3})
		var evals atomic.Int64
		signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", "typo")
		signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", "typo")
		if ok, err := signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", rightPassword); !ok || err != nil {
			t.Fatalf("the third attempt is allowed and right: %v", err)
		}
		if ok, err := signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", rightPassword); !ok || err != nil {
			t.Fatalf("a right third attempt must not leave the account locked: %v", err)
		}
	})
	t.Run("ok/counters-expire-with-their-window", func(t *testing.T) {
		l, clock, st := newL(LockoutConfig{Window: 5 * time.Minute, MaxAccountFailures: 5})
		var evals atomic.Int64
		signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", "typo")
		for k, c := range st.attempts {
			if !c.Expires.Equal(start.Add(5*time.Minute)) || c.Failures != 1 {
				t.Fatalf("counter %s: %+v", k, c)
			}
		}
		clock.Add(5 * time.Minute)
		signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", "typo")
		if c := st.attempts[testTenant+"|password:account:alice@contoso.test"]; c.Failures != 1 || !c.WindowStart.Equal(clock.Now()) {
			t.Fatalf("a new window must start afresh: %+v", c)
		}
	})
	t.Run("ok/totp-preset", func(t *testing.T) {
		l, clock, _ := newL(TOTPLockoutConfig())
		var evals atomic.Int64
		for range 10 {
			signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", "000000")
		}
		if evals.Load() != 5 {
			t.Fatalf("%d codes evaluated in 5 minutes, want 5", evals.Load())
		}
		clock.Add(5 * time.Minute)
		if ok, _ := signIn(t, l, &evals, "alice@contoso.test", "192.0.2.1", rightPassword); !ok {
			t.Fatal("the lock must end with the window")
		}
	})
}

// BenchmarkDummyCheck and BenchmarkCheckPassword should cost the same: an unknown user must
// take as long to refuse as a wrong password.
func BenchmarkDummyCheck(b *testing.B) {
	dummyHash()
	for b.Loop() {
		DummyCheck("wrong password")
	}
}

func BenchmarkCheckPassword(b *testing.B) {
	h, _ := HashPassword(rightPassword)
	for b.Loop() {
		CheckPassword(h, "wrong password")
	}
}
