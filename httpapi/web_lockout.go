package httpapi

import (
	"context"

	"github.com/latchsh/latch/authn"
)

// Lockouts, kept in the store so every replica counts the same attempts. Passwords (and
// Temporary Access Passes, typed in the same field) allow 100 failures per account per hour
// (ASVS 2.2.1); authenticator codes 5 per 5 minutes (ASVS 2.8).
func (s *Server) passwordLockout() *authn.Lockout {
	return authn.NewLockout(s.methods(), s.now, authn.LockoutConfig{})
}

func (s *Server) totpLockout() *authn.Lockout {
	return authn.NewLockout(s.methods(), s.now, authn.TOTPLockoutConfig())
}

// lockoutCheck must pass before a credential is evaluated; it counts the attempt in advance.
func lockoutCheck(ctx context.Context, l *authn.Lockout, tenantID, account, address string) error {
	return l.Check(ctx, tenantID, account, address)
}

// lockoutDone ends an attempt that lockoutCheck let through.
func lockoutDone(ctx context.Context, l *authn.Lockout, tenantID, account, address string, ok bool) {
	if ok {
		l.Succeed(ctx, tenantID, account, address)
		return
	}
	l.Fail(ctx, tenantID, account, address)
}
