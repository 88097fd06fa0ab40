package authn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/latchsh/latch/errs"
)

// AttemptStore is the part of the store a Lockout needs; store.AuthMethodStore satisfies it.
// UpdateAttempts is compare-and-swap and creates the counter when absent; when fn fails,
// nothing is written.
type AttemptStore interface {
	UpdateAttempts(ctx context.Context, tenantID, key string, fn func(AttemptCounter) (AttemptCounter, error)) (AttemptCounter, error)
}

// LockoutConfig sets the limits. Zero fields take the defaults.
type LockoutConfig struct {
	// Name separates this lockout's counters from another's ("password", "totp").
	Name string
	// Window is the fixed counting window; a locked key stays locked until its window ends.
	Window time.Duration
	// MaxAccountFailures is how many attempts one account may fail in a window (ASVS 2.2.1:
	// at most 100 an hour).
	MaxAccountFailures int
	// MaxAddressFailures is how many attempts one client address may fail in a window, across
	// all accounts: a password spray from one address stops here. It is high because many
	// people may share an address behind a NAT.
	MaxAddressFailures int
}

// Lockout defaults.
const (
	DefaultLockoutWindow      = time.Hour
	DefaultMaxAccountFailures = 100
	DefaultMaxAddressFailures = 1000
)

// TOTPLockoutConfig limits authenticator-app codes (ASVS 2.8: at most 5 failures in 5
// minutes), so that guessing one of a million codes takes years.
func TOTPLockoutConfig() LockoutConfig {
	return LockoutConfig{Name: "totp", Window: 5 * time.Minute, MaxAccountFailures: 5, MaxAddressFailures: 100}
}

// Lockout limits failed sign-in attempts per account and per client address with fixed
// windows kept in the store, so every replica sees the same counts.
//
// Use: Check before evaluating the credential; it refuses while the account or address is
// locked and otherwise counts the attempt as failed in advance, so that any number of
// concurrent attempts cannot evaluate more than the limit. Then Succeed (which gives that one
// attempt back) or Fail. Unknown accounts go through
// the same calls (with DummyCheck in place of the password check) so that they answer alike.
//
// Memory: a counter exists only for a key that attempted something in its window, carries an
// Expires at the end of its window (or lock), and may be deleted by the store after that; so
// the store holds at most the keys seen in the last window.
type Lockout struct {
	st  AttemptStore
	now func() time.Time
	cfg LockoutConfig
}

// NewLockout returns a Lockout counting in st; now is the clock (nil means time.Now).
func NewLockout(st AttemptStore, now func() time.Time, cfg LockoutConfig) *Lockout {
	if now == nil {
		now = time.Now
	}
	if cfg.Name == "" {
		cfg.Name = "password"
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultLockoutWindow
	}
	if cfg.MaxAccountFailures <= 0 {
		cfg.MaxAccountFailures = DefaultMaxAccountFailures
	}
	if cfg.MaxAddressFailures <= 0 {
		cfg.MaxAddressFailures = DefaultMaxAddressFailures
	}
	return &Lockout{st: st, now: now, cfg: cfg}
}

func (l *Lockout) accountKey(account string) string {
	return l.cfg.Name + ":account:" + strings.ToLower(strings.TrimSpace(account))
}

func (l *Lockout) addressKey(address string) string { return l.cfg.Name + ":address:" + address }

// errLocked aborts a counter update: the key is locked, and nothing needs writing.
var errLocked = errors.New("locked")

// Check refuses an attempt while account or address is locked, and otherwise counts it. The
// refusal says nothing about whether the credential was right: it is not evaluated. An empty
// address is not counted (the account limit still applies).
//
// Errors: TooMany (code "locked") with the time the lock ends; Internal or Unavailable from
// the store, in which case the caller must refuse the sign-in (fail closed).
func (l *Lockout) Check(ctx context.Context, tenantID, account, address string) error {
	const op = "authn.Lockout.Check"
	now := l.now()
	c, err := l.reserve(ctx, tenantID, l.accountKey(account), l.cfg.MaxAccountFailures, now)
	if errors.Is(err, errLocked) {
		return errs.E(op, errs.TooMany, errs.Code("locked"), "Your account is temporarily locked to prevent unauthorized use. Try again after "+c.LockedUntil.UTC().Format("15:04 UTC")+", or sign in with a passkey.")
	}
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if address == "" {
		return nil
	}
	c, err = l.reserve(ctx, tenantID, l.addressKey(address), l.cfg.MaxAddressFailures, now)
	if errors.Is(err, errLocked) {
		l.release(ctx, tenantID, l.accountKey(account), l.cfg.MaxAccountFailures)
		return errs.E(op, errs.TooMany, errs.Code("locked"), "There were too many failed sign-ins from your network. Try again after "+c.LockedUntil.UTC().Format("15:04 UTC")+".")
	}
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	return nil
}

// reserve counts one attempt against key unless it is locked; the attempt that reaches the
// limit locks the key until its window ends. It returns the counter as it stands.
func (l *Lockout) reserve(ctx context.Context, tenantID, key string, limit int, now time.Time) (AttemptCounter, error) {
	var seen AttemptCounter
	c, err := l.st.UpdateAttempts(ctx, tenantID, key, func(c AttemptCounter) (AttemptCounter, error) {
		c = l.roll(c, now)
		if now.Before(c.LockedUntil) {
			seen = c
			return c, errLocked
		}
		c.Failures++
		if c.Failures >= limit {
			c.LockedUntil = c.WindowStart.Add(l.cfg.Window)
		}
		c.Expires = laterOf(c.WindowStart.Add(l.cfg.Window), c.LockedUntil)
		return c, nil
	})
	if errors.Is(err, errLocked) {
		return seen, err
	}
	return c, err
}

// roll starts a new window when the counter's has ended.
func (l *Lockout) roll(c AttemptCounter, now time.Time) AttemptCounter {
	if c.WindowStart.IsZero() || !now.Before(c.WindowStart.Add(l.cfg.Window)) {
		c.WindowStart, c.Failures = now, 0
		if !now.Before(c.LockedUntil) {
			c.LockedUntil = time.Time{}
		}
	}
	return c
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Fail records that the attempt Check let through was wrong. Check has already counted it,
// so there is nothing more to store; Fail exists so that every attempt ends in one of the two
// calls and a later change (an audit event, a growing delay) has one place to go. It never
// fails.
func (l *Lockout) Fail(ctx context.Context, tenantID, account, address string) error { return nil }

// Succeed records a correct credential: the attempt Check counted is given back to the account
// and the address, so that signing in never counts as a failure. Earlier failures stay
// counted: resetting them would let a person who signs in often refill an attacker's hundred
// guesses an hour (ASVS 2.2.1 limits failures per account, whatever succeeds between them).
// Errors: Internal or Unavailable from the store; the sign-in may still proceed.
func (l *Lockout) Succeed(ctx context.Context, tenantID, account, address string) error {
	const op = "authn.Lockout.Succeed"
	if err := l.release(ctx, tenantID, l.accountKey(account), l.cfg.MaxAccountFailures); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if address == "" {
		return nil
	}
	if err := l.release(ctx, tenantID, l.addressKey(address), l.cfg.MaxAddressFailures); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	return nil
}

// release gives back one counted attempt, if the window it was counted in is still open,
// lifting the lock that attempt may have set.
func (l *Lockout) release(ctx context.Context, tenantID, key string, limit int) error {
	now := l.now()
	_, err := l.st.UpdateAttempts(ctx, tenantID, key, func(c AttemptCounter) (AttemptCounter, error) {
		if c.Failures == 0 || !now.Before(c.WindowStart.Add(l.cfg.Window)) {
			return c, errLocked // nothing to give back; write nothing
		}
		c.Failures--
		if c.Failures < limit {
			c.LockedUntil = time.Time{}
		}
		return c, nil
	})
	if errors.Is(err, errLocked) {
		return nil
	}
	return err
}

// dummyHash is a real argon2id hash of a random secret, made once, so DummyCheck does the same
// work as checking a real password.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword(randomString(tapAlphabet, 32))
	if err != nil {
		panic(err) // HashPassword fails only for empty or over-long input
	}
	return h
})

// DummyCheck costs what CheckPassword costs and always fails. Call it for an unknown user or
// one without a password, so that the answer takes as long as for a wrong password and does
// not reveal which accounts exist.
func DummyCheck(pw string) {
	CheckPassword(dummyHash(), pw)
}
