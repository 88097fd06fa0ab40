package httpapi

import (
	"context"
	"net/http"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// changePassword replaces u's password after checking the current one (through the lockout,
// like any password check) and the password policy. The temporary flag is cleared.
func (s *Server) changePassword(ctx context.Context, u directory.User, current, next, confirm, address string) (directory.User, error) {
	const op = "httpapi.changePassword"
	if current == "" || next == "" || len(current) > 256 {
		return u, errs.E(op, errs.Invalid, "Enter your current password and a new one.")
	}
	if next != confirm {
		return u, errs.E(op, errs.Invalid, "The new passwords do not match. Type the same new password twice.")
	}
	if err := s.checkCurrentPassword(ctx, u, current, address); err != nil {
		return u, err
	}
	if next == current {
		return u, errs.E(op, errs.Invalid, "Your new password must be different from your current one.")
	}
	if err := authn.CheckPasswordPolicy(next, u.UserPrincipalName, u.DisplayName); err != nil {
		return u, err
	}
	hash, err := authn.HashPassword(next)
	if err != nil {
		return u, err
	}
	now := s.now()
	return s.Store.UpdateUser(ctx, u.TenantID, u.ID, func(cur directory.User) (directory.User, error) {
		if cur.Password.Hash != u.Password.Hash {
			return cur, errs.E(op, errs.Conflict, "Your password was changed meanwhile. Sign in again.")
		}
		cur.Password = directory.Password{Hash: hash, LastChanged: now}
		return cur, nil
	})
}

// checkCurrentPassword verifies the password a person types to change it, counted by the
// lockout like a sign-in, so the change form is no way around it.
func (s *Server) checkCurrentPassword(ctx context.Context, u directory.User, current, address string) error {
	const op = "httpapi.checkCurrentPassword"
	if u.Password.Hash == "" {
		return errs.E(op, errs.Invalid, "You have no password to change. You sign in with a passkey or a Temporary Access Pass.")
	}
	account, lock := directory.NormalizeUPN(u.UserPrincipalName), s.passwordLockout()
	if err := lockoutCheck(ctx, lock, u.TenantID, account, address); err != nil {
		return err
	}
	ok, err := authn.CheckPassword(u.Password.Hash, current)
	lockoutDone(ctx, lock, u.TenantID, account, address, err == nil && ok)
	if err != nil || !ok {
		return errs.E(op, errs.Unauthenticated, "Your current password is incorrect.")
	}
	return nil
}

// checkOTP accepts a code from any of u's confirmed authenticator apps. Wrong codes count
// against a lockout of their own, since six digits are quickly guessed; each code works once.
func (s *Server) checkOTP(ctx context.Context, u directory.User, code, address string) error {
	const op = "httpapi.checkOTP"
	lock := s.totpLockout()
	if err := lockoutCheck(ctx, lock, u.TenantID, u.ID, address); err != nil {
		return err
	}
	apps, err := s.confirmedTOTP(ctx, u)
	if err != nil {
		lockoutDone(ctx, lock, u.TenantID, u.ID, address, false)
		return err
	}
	last := errs.E(op, errs.Unauthenticated, "The code is not correct. Enter the current code from your authenticator app.")
	for _, m := range apps {
		err := authn.VerifyTOTP(ctx, s.methods(), m, code, s.now())
		if err == nil {
			lockoutDone(ctx, lock, u.TenantID, u.ID, address, true)
			return nil
		}
		if !errs.Is(err, errs.Unauthenticated) {
			return err
		}
		last = err
	}
	lockoutDone(ctx, lock, u.TenantID, u.ID, address, false)
	return last
}

// passwordPage is the voluntary change-password page's data: the sign-in template's
// changepassword step, posting to /security-info/password.
func passwordPage(upn string) signInPage {
	return signInPage{Action: "/security-info/password", Step: pendingChangePassword, LoginHint: upn}
}

// handlePassword lets a signed-in person change their password. Their other sessions end, so
// a thief holding one loses it (ASVS 3.3.3).
func (s *Server) handlePassword(c *webCtx) error {
	if c.r.Method == http.MethodGet {
		c.render(http.StatusOK, "signin", "Change password", passwordPage(c.user.UserPrincipalName))
		return nil
	}
	pf := c.r.PostForm
	u, err := s.changePassword(c.r.Context(), c.user, pf.Get("current"), pf.Get("new"), pf.Get("confirm"), clientAddress(c.r))
	if err != nil {
		c.renderErr(statusOf(errs.KindOf(err)), "signin", "Change password", passwordPage(c.user.UserPrincipalName), err)
		return nil
	}
	c.user = u
	if err := s.endOtherSessions(c.r.Context(), c.sess); err != nil {
		return err
	}
	c.message("Password changed", "Your password was changed. Your other sessions were signed out.")
	return nil
}
