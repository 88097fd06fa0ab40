package httpapi

import (
	"context"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// signInProof is what a successful sign-in step established.
type signInProof struct {
	UserID   string
	AMR      []string
	Methods  []string // authn.Method* values satisfied
	AuthTime time.Time
}

// badCredentials is the one answer for an unknown user, a disabled user and a wrong secret,
// so that the page does not tell which accounts exist.
func badCredentials(op string) error {
	return errs.E(op, errs.Unauthenticated, errs.Code("invalid_grant"), "Your account or password is incorrect. Check them and try again.")
}

// signIn checks a person's first factor: a Temporary Access Pass first (a one-time pass is
// spent here, exactly once across replicas), else the password. The lockout is consulted
// before anything is verified, so a locked account refuses even the right secret, and an
// unknown user counts and answers exactly as a wrong password does.
func (s *Server) signIn(ctx context.Context, t directory.Tenant, upn, credential, address string) (directory.User, signInProof, error) {
	const op = "httpapi.signIn"
	if upn == "" || credential == "" || len(upn) > 256 || len(credential) > 256 {
		return directory.User{}, signInProof{}, errs.E(op, errs.Invalid, "Enter your user name and your password or Temporary Access Pass.")
	}
	account := directory.NormalizeUPN(upn)
	lock := s.passwordLockout()
	if err := lockoutCheck(ctx, lock, t.ID, account, address); err != nil {
		return directory.User{}, signInProof{}, err
	}
	u, proof, err := s.verifyFirstFactor(ctx, t, account, credential)
	lockoutDone(ctx, lock, t.ID, account, address, err == nil)
	return u, proof, err
}

// verifyFirstFactor does signIn's checks after the lockout has let the attempt through.
func (s *Server) verifyFirstFactor(ctx context.Context, t directory.Tenant, upn, credential string) (directory.User, signInProof, error) {
	const op = "httpapi.verifyFirstFactor"
	u, err := s.Store.GetUserByUPN(ctx, t.ID, upn)
	if errs.Is(err, errs.NotFound) {
		authn.DummyCheck(credential) // answer in about the time a real check takes
		return directory.User{}, signInProof{}, badCredentials(op)
	}
	if err != nil {
		return directory.User{}, signInProof{}, err
	}
	if method, ok, err := s.spendPass(ctx, u, credential); err != nil || ok {
		if err != nil {
			return directory.User{}, signInProof{}, err
		}
		return s.enabledProof(op, u, []string{"tap", "mfa"}, method)
	}
	if u.Password.Hash == "" {
		authn.DummyCheck(credential)
		return directory.User{}, signInProof{}, badCredentials(op)
	}
	if ok, err := authn.CheckPassword(u.Password.Hash, credential); err != nil || !ok {
		return directory.User{}, signInProof{}, badCredentials(op)
	}
	return s.enabledProof(op, u, []string{"pwd"}, authn.MethodPassword)
}

func (s *Server) enabledProof(op string, u directory.User, amr []string, method string) (directory.User, signInProof, error) {
	if !u.AccountEnabled {
		return directory.User{}, signInProof{}, errs.E(op, errs.PermissionDenied, errs.Code("invalid_grant"),
			"Your account has been locked. Contact your support person to unlock it, then try again.")
	}
	return u, signInProof{UserID: u.ID, AMR: amr, Methods: []string{method}, AuthTime: s.now()}, nil
}

// mustChangePassword is true while the user's password is a temporary one set by an admin.
func mustChangePassword(u directory.User) bool {
	return u.Password.Hash != "" && u.Password.ForceChangePasswordNextSignIn
}

// temporaryPasswordRefusal refuses to issue tokens to a user whose password is temporary:
// it can only be changed on the sign-in pages, and every other way in (refresh tokens issued
// before an admin reset it, device keys, the device code before the page's change step) waits
// until it has been. interaction_required tells MSAL-based clients to open the browser.
func (s *Server) temporaryPasswordRefusal(op string, u directory.User) error {
	if !mustChangePassword(u) {
		return nil
	}
	return errs.E(op, errs.PermissionDenied, errs.Code("interaction_required"),
		"AADSTS50055: Your credentials did not work: your password is temporary and must be changed before you can sign in. Sign in at "+s.URL+"/login to change it, then try again.")
}

// spendPass looks for a Temporary Access Pass of u that credential matches, and returns the
// method it satisfies. ok is false when none matches; a one-time pass is marked used with a
// compare-and-swap so it works once.
func (s *Server) spendPass(ctx context.Context, u directory.User, credential string) (string, bool, error) {
	const op = "httpapi.spendPass"
	passes, err := s.Store.ListTemporaryAccessPasses(ctx, u.TenantID, u.ID)
	if err != nil {
		return "", false, err
	}
	now := s.now()
	for _, p := range passes {
		err := authn.CheckTemporaryAccessPass(p, credential, now)
		if errs.Is(err, errs.Unauthenticated) {
			continue
		}
		if err != nil {
			return "", false, errs.E(op, errs.KindOf(err), "This Temporary Access Pass was used already or has expired. Ask your administrator for a new one.", err)
		}
		if !p.OneTime {
			return authn.MethodTAPMultiUse, true, nil
		}
		_, err = s.Store.UpdateTemporaryAccessPass(ctx, u.TenantID, p.ID, func(cur authn.TemporaryAccessPass) (authn.TemporaryAccessPass, error) {
			if cur.Used {
				return cur, errs.E(op, errs.Conflict, "This Temporary Access Pass was used already. Ask your administrator for a new one.")
			}
			cur.Used = true
			return cur, nil
		})
		if err != nil {
			return "", false, err
		}
		return authn.MethodTAPOneTime, true, nil
	}
	return "", false, nil
}
