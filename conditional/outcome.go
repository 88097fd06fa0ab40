package conditional

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/latchsh/latch/errs"
)

// Messages a person sees. MessageMethodNotAllowed is the Azure article's text for a sign-in
// that does not meet a required MFA or authentication strength; MessageBlocked is Entra's
// AADSTS53003 text; MessageCredentials is the article's for a password that must change;
// MessageReauthenticate is Entra's AADSTS70044 text for a sign-in frequency check.
const (
	MessageMethodNotAllowed = "The sign-in method you're trying to use isn't allowed. Try a different sign-in method or contact your system administrator."
	MessageBlocked          = "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
	MessageCredentials      = "Your credentials did not work."
	MessageReauthenticate   = "The session has expired or is invalid due to sign-in frequency checks by conditional access."
)

// Entra error numbers for the sign-in log's status.errorCode (shown as AADSTSnnnnn).
const (
	CodeBlocked        = 53003 // blocked by Conditional Access
	CodeMFARequired    = 50076 // the sign-in needs (stronger) multifactor authentication
	CodeMFARegister    = 50079 // the person must register a stronger method first
	CodePasswordChange = 50055 // the password must be changed
	CodeReauthenticate = 70044 // sign-in frequency
)

// Conditional Access status values of the sign-in log.
const (
	StatusSuccess    = "success"
	StatusFailure    = "failure"
	StatusNotApplied = "notApplied"
)

// decide turns the per-policy results into the outcome. Only enforced failures count, and the
// deciding policy is chosen by display name and id, so the order of the policies never
// changes the answer.
func (e *Evaluator) decide(r Result) Result {
	var fails []PolicyResult
	applied := false
	for _, p := range r.Policies {
		switch p.Result {
		case Failure:
			fails = append(fails, p)
		case Success:
			applied = true
		}
	}
	return e.decideFrom(r, applied, fails)
}

// decideFrom is decide for a caller that already knows whether an enforced policy succeeded
// and which failed. It reorders fails and keeps no reference to it.
func (e *Evaluator) decideFrom(r Result, applied bool, fails []PolicyResult) Result {
	r.Status = StatusNotApplied
	if applied {
		r.Status = StatusSuccess
	}
	if len(fails) == 0 {
		return r
	}
	r.Status = StatusFailure
	r.Outcome, fails = worst(fails)
	slices.SortFunc(fails, func(a, b PolicyResult) int { return byName(r.PolicyOf(a), r.PolicyOf(b)) })
	r.Decider = r.PolicyOf(fails[0])
	r.StepUpStrengths, r.Reauthenticate = r.stepUp(fails)
	r.Message, r.ErrorCode, r.Detail = explain(r.Outcome, r.Decider, fails[0].Unmet)
	return r
}

// worst returns the outcome the failures force and the failures responsible for it.
func worst(fails []PolicyResult) (Outcome, []PolicyResult) {
	pick := func(f func(PolicyResult) bool) []PolicyResult {
		return slices.DeleteFunc(slices.Clone(fails), func(p PolicyResult) bool { return !f(p) })
	}
	if b := pick(func(p PolicyResult) bool { return p.Unmet&NeedBlock != 0 }); len(b) > 0 {
		return Block, b
	}
	if d := pick(func(p PolicyResult) bool { return !p.CanStepUp }); len(d) > 0 {
		return Deny, d
	}
	if c := pick(func(p PolicyResult) bool { return p.Unmet&NeedPasswordChange != 0 }); len(c) > 0 {
		return ChangePassword, c
	}
	return StepUp, fails
}

func byName(a, b *Policy) int {
	return cmp.Or(cmp.Compare(a.DisplayName, b.DisplayName), cmp.Compare(a.ID, b.ID))
}

// stepUp lists the strengths the failed policies ask for and whether any wants a fresh
// sign-in.
func (r Result) stepUp(fails []PolicyResult) ([]string, bool) {
	var ids []string
	reauth := false
	for _, f := range fails {
		if f.Unmet&(NeedMFA|NeedStrength) != 0 {
			ids = append(ids, strengthOf(r.PolicyOf(f)))
		}
		reauth = reauth || f.Unmet&NeedSignInFrequency != 0
	}
	slices.Sort(ids)
	return slices.Compact(ids), reauth
}

// strengthOf is the strength a policy requires: MultifactorID for mfa, else its
// authenticationStrength's id, else "".
func strengthOf(p *Policy) string {
	g := p.GrantControls
	switch {
	case g == nil:
		return ""
	case slices.Contains(g.BuiltInControls, ControlMFA):
		return MultifactorID
	case g.AuthenticationStrength != nil:
		return g.AuthenticationStrength.ID
	}
	return ""
}

// explain picks the message, error number and detail for an outcome decided by policy p,
// which left unmet unsatisfied.
func explain(o Outcome, p *Policy, unmet Controls) (string, int, string) {
	name := fmt.Sprintf("'%s' (%s)", p.DisplayName, p.ID)
	wantsMethod := unmet&(NeedMFA|NeedStrength) != 0
	switch {
	case o == Block:
		return MessageBlocked, CodeBlocked, "Blocked by the Conditional Access policy " + name + "."
	case o == Deny && wantsMethod:
		return MessageMethodNotAllowed, CodeMFARegister, "The Conditional Access policy " + name +
			" requires a sign-in method you have not registered (" + joinNames(unmet) + ")."
	case o == Deny:
		return MessageBlocked, CodeBlocked, "The Conditional Access policy " + name +
			" requires controls Latch cannot satisfy (" + joinNames(unmet) + ")."
	case o == ChangePassword:
		return MessageCredentials, CodePasswordChange, "The Conditional Access policy " + name +
			" requires a password change: sign in with a browser, change your password, then try again."
	case wantsMethod:
		return MessageMethodNotAllowed, CodeMFARequired, "The Conditional Access policy " + name +
			" requires a stronger sign-in method (" + joinNames(unmet) + "): sign in again with one."
	}
	return MessageReauthenticate, CodeReauthenticate, "The Conditional Access policy " + name +
		" requires a recent sign-in: sign in again."
}

func joinNames(c Controls) string {
	s := ""
	for i, n := range c.Names() {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// Err is the error to return for a sign-in that was not allowed, or nil on Allow. Its
// message is Message, its code the OAuth "interaction_required" Entra answers with, and its
// cause carries Detail for the log. Kinds: PermissionDenied for Block and Deny,
// Unauthenticated for StepUp and ChangePassword (the person can go on by signing in again).
func (r Result) Err(op string) error {
	if r.Outcome == Allow {
		return nil
	}
	kind := errs.Unauthenticated
	if r.Outcome == Block || r.Outcome == Deny {
		kind = errs.PermissionDenied
	}
	return errs.E(op, kind, errs.Code("interaction_required"), r.Message,
		fmt.Errorf("AADSTS%d: %s", r.ErrorCode, r.Detail))
}
