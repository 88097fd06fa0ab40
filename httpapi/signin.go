package httpapi

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// signInProof is what a successful sign-in established.
type signInProof struct {
	UserID   string
	AMR      []string
	AuthTime time.Time
}

// badCredentials is the one answer for an unknown user, a disabled user and a wrong secret,
// so that the page does not tell which accounts exist.
func badCredentials(op string) error {
	return errs.E(op, errs.Unauthenticated, errs.Code("invalid_grant"), "Your account or password is incorrect. Check them and try again.")
}

// signIn checks a person's credential: a Temporary Access Pass first (a one-time pass is spent
// here, exactly once across replicas), else the password. Passkeys and second factors come
// with the sign-in pages' own work.
func (s *Server) signIn(ctx context.Context, t directory.Tenant, upn, credential string) (signInProof, error) {
	const op = "httpapi.signIn"
	if upn == "" || credential == "" || len(upn) > 256 || len(credential) > 256 {
		return signInProof{}, errs.E(op, errs.Invalid, "Enter your user name and your password or Temporary Access Pass.")
	}
	u, err := s.Store.GetUserByUPN(ctx, t.ID, directory.NormalizeUPN(upn))
	if errs.Is(err, errs.NotFound) {
		authn.CheckPassword(dummyHash(), credential) // answer in about the time a real check takes
		return signInProof{}, badCredentials(op)
	}
	if err != nil {
		return signInProof{}, err
	}
	if amr, ok, err := s.spendPass(ctx, u, credential); err != nil || ok {
		if err != nil {
			return signInProof{}, err
		}
		return s.enabledProof(op, u, amr)
	}
	if u.Password.Hash == "" {
		authn.CheckPassword(dummyHash(), credential)
		return signInProof{}, badCredentials(op)
	}
	ok, err := authn.CheckPassword(u.Password.Hash, credential)
	if err != nil || !ok {
		return signInProof{}, badCredentials(op)
	}
	if u.Password.ForceChangePasswordNextSignIn {
		return signInProof{}, errs.E(op, errs.PermissionDenied, errs.Code("interaction_required"),
			"Your credentials did not work: your password is temporary and must be changed before you can sign in.")
	}
	return s.enabledProof(op, u, []string{"pwd"})
}

func (s *Server) enabledProof(op string, u directory.User, amr []string) (signInProof, error) {
	if !u.AccountEnabled {
		return signInProof{}, errs.E(op, errs.PermissionDenied, errs.Code("invalid_grant"),
			"Your account has been locked. Contact your support person to unlock it, then try again.")
	}
	return signInProof{UserID: u.ID, AMR: amr, AuthTime: s.now()}, nil
}

// spendPass looks for a Temporary Access Pass of u that credential matches. ok is false when
// none matches; a one-time pass is marked used with a compare-and-swap so it works once.
func (s *Server) spendPass(ctx context.Context, u directory.User, credential string) ([]string, bool, error) {
	const op = "httpapi.spendPass"
	passes, err := s.Store.ListTemporaryAccessPasses(ctx, u.TenantID, u.ID)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	for _, p := range passes {
		err := authn.CheckTemporaryAccessPass(p, credential, now)
		if errs.Is(err, errs.Unauthenticated) {
			continue
		}
		if err != nil {
			return nil, false, errs.E(op, errs.KindOf(err), "This Temporary Access Pass was used already or has expired. Ask your administrator for a new one.", err)
		}
		if p.OneTime {
			_, err = s.Store.UpdateTemporaryAccessPass(ctx, u.TenantID, p.ID, func(cur authn.TemporaryAccessPass) (authn.TemporaryAccessPass, error) {
				if cur.Used {
					return cur, errs.E(op, errs.Conflict, "This Temporary Access Pass was used already. Ask your administrator for a new one.")
				}
				cur.Used = true
				return cur, nil
			})
			if err != nil {
				return nil, false, err
			}
		}
		return []string{"tap", "mfa"}, true, nil
	}
	return nil, false, nil
}

// dummyHash is checked against when there is no real hash, so that unknown users cost as much
// as known ones.
// It is made on first use, not at start-up.
var dummyHash = sync.OnceValue(func() string {
	h, err := authn.HashPassword(strings.Repeat("x", 16))
	if err != nil {
		panic(err)
	}
	return h
})
