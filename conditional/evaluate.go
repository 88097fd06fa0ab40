package conditional

import (
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
)

// Evaluate decides a sign-in against the tenant's policies: Compile followed by
// Evaluator.Evaluate. Callers evaluating many sign-ins against the same policies should
// Compile once.
func Evaluate(policies []Policy, s SignIn, dir DirectoryFacts, locs []NamedLocation, strengths map[string]Strength) Result {
	return Compile(policies, locs, strengths).Evaluate(s, dir)
}

// LegacyMFAID is the id under which legacy per-user MFA appears among the policy results.
const LegacyMFAID = "strongAuthenticationRequirements"

// LegacyMFAPolicy stands for legacy per-user MFA in results: an enabled policy for every
// application requiring mfa. Callers must not modify it.
var LegacyMFAPolicy = &Policy{ID: LegacyMFAID, DisplayName: "Per-user MFA (strongAuthenticationRequirements)",
	State: StateEnabled, GrantControls: &GrantControls{Operator: OperatorOR, BuiltInControls: Strings{ControlMFA}}}

var legacyCompiled = compilePolicy(LegacyMFAPolicy)

// Evaluate decides one sign-in. Every enabled policy that applies must be satisfied;
// report-only policies are evaluated and reported but never change the outcome; disabled
// ones are reported notEnabled. A sign-in without a user (app-only) matches no policy.
//
// Failing closed: a policy naming a strength the Evaluator does not know can never be
// satisfied; a location id it does not know matches no address, both in includes and
// excludes, so the store must refuse to delete a location a policy still names.
func (e *Evaluator) Evaluate(s SignIn, dir DirectoryFacts) Result {
	r := Result{Policies: make([]PolicyResult, len(e.template), len(e.template)+1)}
	copy(r.Policies, e.template)
	if s.UserID == "" {
		return e.decide(r)
	}
	env := e.newEnv(s, dir)
	for i := range e.candidates(s) {
		e.policies[i].evaluate(&r.Policies[i], s, env)
	}
	if dir.PerUserMFA == directory.MFAEnabled || dir.PerUserMFA == directory.MFAEnforced {
		pr := PolicyResult{Policy: LegacyMFAPolicy}
		legacyCompiled.grantResult(&pr, s, env)
		r.Policies = append(r.Policies, pr)
	}
	return e.decide(r)
}

// env is what every policy's evaluation of one sign-in shares, computed once.
type env struct {
	e         *Evaluator
	have      methodSet // methods used now
	could     methodSet // methods used now or registered
	canChange bool      // the person has a password they could change
	stale     func(time.Duration) bool
	inLoc     map[string]bool // named location id → contains the address (filled lazily)
	trusted   int8            // 0 unknown, 1 yes, -1 no
}

func (e *Evaluator) newEnv(s SignIn, dir DirectoryFacts) *env {
	have := methodSetOf(s.Methods)
	reg := methodSetOf(dir.RegisteredMethods)
	age := s.Now.Sub(s.AuthTime)
	return &env{e: e, have: have, could: have | reg,
		canChange: (have|reg)&modeBit(authn.MethodPassword) != 0,
		stale:     func(max time.Duration) bool { return s.AuthTime.IsZero() || age > max }}
}

// candidates yields, in order, the policies found through both the sign-in's application or
// user action and its user, groups, roles or guest status.
func (e *Evaluator) candidates(s SignIn) func(func(int) bool) {
	mark := make([]uint8, len(e.policies))
	set := func(list []int32, bit uint8) {
		for _, i := range list {
			mark[i] |= bit
		}
	}
	set(e.allUsers, 1)
	set(e.byUser[s.UserID], 1)
	for _, g := range s.Groups {
		set(e.byGroup[g], 1)
	}
	for _, r := range s.Roles {
		set(e.byRole[r], 1)
	}
	if s.Guest {
		set(e.guests, 1)
	}
	if s.AppID != "" {
		set(e.allApps, 2)
		set(e.byApp[s.AppID], 2)
	}
	if s.UserAction != "" {
		set(e.byAction[s.UserAction], 2)
	}
	return func(yield func(int) bool) {
		for i, m := range mark {
			if m == 3 && !yield(i) {
				return
			}
		}
	}
}

// evaluate sets r for a candidate policy: not applied when an exclusion or another condition
// rules it out, else success or failure of its controls.
func (c *compiled) evaluate(r *PolicyResult, s SignIn, v *env) {
	if !c.applies(s, v) {
		return
	}
	c.grantResult(r, s, v)
}

// grantResult sets r from the controls, for a policy that applies.
func (c *compiled) grantResult(r *PolicyResult, s SignIn, v *env) {
	r.Unmet = c.unmet(v.have, s.PasswordChanged, v.stale, v.e)
	ok, fail := Success, Failure
	if !c.enforced {
		ok, fail = ReportOnlySuccess, ReportOnlyFailure
	}
	if r.Unmet == 0 {
		r.Result = ok
		return
	}
	r.Result = fail
	fresh := func(time.Duration) bool { return false }
	r.CanStepUp = c.unmet(v.could, v.canChange, fresh, v.e) == 0
}

// unmet returns the controls not met by a sign-in with methods have, a password changed or
// not, and an authentication that is stale for a given maximum age or not.
func (c *compiled) unmet(have methodSet, changed bool, stale func(time.Duration) bool, e *Evaluator) Controls {
	var met Controls
	if c.grant&NeedMFA != 0 && e.strengths[MultifactorID].satisfiedBy(have) {
		met |= NeedMFA
	}
	if c.grant&NeedStrength != 0 && e.strengths[c.strength].satisfiedBy(have) {
		met |= NeedStrength
	}
	if c.grant&NeedPasswordChange != 0 && changed {
		met |= NeedPasswordChange
	}
	var out Controls
	switch {
	case c.grant == 0:
	case c.and:
		out = c.grant &^ met
	case met == 0:
		out = c.grant
	}
	if c.freq > 0 && stale(c.freq) {
		out |= NeedSignInFrequency
	}
	return out
}

// applies checks every condition except the inclusion of the user and the application,
// which the index established.
func (c *compiled) applies(s SignIn, v *env) bool {
	return !c.excludesUser(s) &&
		!slices.Contains(c.exclApps, s.AppID) &&
		c.signInRisk.has(s.SignInRisk) && c.userRisk.has(s.UserRisk) &&
		(c.clients == nil || slices.Contains(c.clients, s.ClientAppType)) &&
		c.platformMatches(s.Platform) &&
		(c.loc == nil || v.locationMatches(c.loc, s))
}

func (c *compiled) excludesUser(s SignIn) bool {
	if c.exclGuests && s.Guest || slices.Contains(c.exclUsers, s.UserID) {
		return true
	}
	return intersects(c.exclGroups, s.Groups) || intersects(c.exclRoles, s.Roles)
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// platformMatches: an unknown platform matches only a policy for all platforms, so
// hiding the platform never escapes a policy that names "all".
func (c *compiled) platformMatches(platform string) bool {
	if platform != "" && slices.Contains(c.exclPlatforms, platform) {
		return false
	}
	return !c.platforms || platform != "" && slices.Contains(c.inclPlatforms, platform)
}

func (v *env) locationMatches(l *Locations, s SignIn) bool {
	return v.anyLocation(l.IncludeLocations, s) && !v.anyLocation(l.ExcludeLocations, s)
}

// anyLocation reports whether the address is in any of ids (All, AllTrusted or location ids).
func (v *env) anyLocation(ids []string, s SignIn) bool {
	for _, id := range ids {
		if id == All || id == AllTrusted && v.isTrusted(s) || v.inLocation(id, s) {
			return true
		}
	}
	return false
}

func (v *env) isTrusted(s SignIn) bool {
	if v.trusted == 0 {
		v.trusted = -1
		for _, l := range v.e.trusted {
			if l.Contains(s.Address, s.Country) {
				v.trusted = 1
				break
			}
		}
	}
	return v.trusted == 1
}

func (v *env) inLocation(id string, s SignIn) bool {
	if id == AllTrusted || id == All {
		return false
	}
	id = strings.ToLower(id)
	in, seen := v.inLoc[id]
	if !seen {
		l, known := v.e.locations[id]
		in = known && l.Contains(s.Address, s.Country)
		if v.inLoc == nil {
			v.inLoc = map[string]bool{}
		}
		v.inLoc[id] = in
	}
	return in
}
