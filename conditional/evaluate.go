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

var legacyCompiled = (&Evaluator{ids: map[string]int32{}, strengths: map[string]methodSets{
	MultifactorID: setsOf(BuiltInStrengths()[0])}}).compilePolicy(LegacyMFAPolicy)

// Evaluate decides one sign-in. Every enabled policy that applies must be satisfied;
// report-only policies are evaluated and reported but never change the outcome; disabled
// ones are reported notEnabled. A sign-in without a user (app-only) matches no policy.
//
// Failing closed: a policy naming a strength the Evaluator does not know can never be
// satisfied; a location id it does not know matches no address, both in includes and
// excludes, so the store must refuse to delete a location a policy still names.
func (e *Evaluator) Evaluate(s SignIn, dir DirectoryFacts) Result {
	r := Result{Policies: make([]PolicyResult, len(e.template), len(e.template)+1), policies: e.ptrs}
	copy(r.Policies, e.template)
	if s.UserID == "" {
		return e.decide(r)
	}
	env := e.newEnv(s, dir)
	for i := range e.candidates(s) {
		e.policies[i].evaluate(&r.Policies[i], s, env)
	}
	if dir.PerUserMFA == directory.MFAEnabled || dir.PerUserMFA == directory.MFAEnforced {
		pr := PolicyResult{Index: LegacyMFAIndex}
		legacyCompiled.grantResult(&pr, s, env)
		r.Policies = append(r.Policies, pr)
	}
	return e.decide(r)
}

// env is what every policy's evaluation of one sign-in shares, computed once.
type env struct {
	e                    *Evaluator
	have                 methodSet     // methods used now
	could                methodSet     // methods used now or registered
	canChange            bool          // the person has a password they could change
	age                  time.Duration // since the last authentication; noAuth when there was none
	noAuth               bool
	members              []uint64 // interned ids of the user, their groups and roles
	signInRisk, userRisk riskSet
	client               clientSet
	inLoc                map[string]bool // named location id → contains the address (filled lazily)
	trusted              int8            // 0 unknown, 1 yes, -1 no
}

func (e *Evaluator) newEnv(s SignIn, dir DirectoryFacts) *env {
	have := methodSetOf(s.Methods)
	reg := methodSetOf(dir.RegisteredMethods)
	v := &env{e: e, have: have, could: have | reg,
		canChange: (have|reg)&modeBit(authn.MethodPassword) != 0,
		age:       s.Now.Sub(s.AuthTime), noAuth: s.AuthTime.IsZero(),
		signInRisk: riskBit(s.SignInRisk), userRisk: riskBit(s.UserRisk), client: clientSetOf(s.ClientAppType),
		members: make([]uint64, len(e.ids)/64+1)}
	v.member(s.UserID)
	for _, list := range [][]string{s.Groups, s.Roles} {
		for _, id := range list {
			v.member(id)
		}
	}
	return v
}

func (v *env) member(id string) {
	if n, ok := v.e.ids[id]; ok {
		v.members[n/64] |= 1 << (n % 64)
	}
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
	r.Unmet = c.unmet(v.have, s.PasswordChanged, v.noAuth || v.age > c.freq)
	ok, fail := Success, Failure
	if !c.enforced {
		ok, fail = ReportOnlySuccess, ReportOnlyFailure
	}
	if r.Unmet == 0 {
		r.Result = ok
		return
	}
	r.Result = fail
	r.CanStepUp = c.unmet(v.could, v.canChange, false) == 0
}

// unmet returns the controls not met by a sign-in with methods have, a password changed or
// not, and an authentication older than the policy's sign-in frequency (stale) or not.
func (c *compiled) unmet(have methodSet, changed, stale bool) Controls {
	var met Controls
	if c.grant&NeedMFA != 0 && c.mfaSets.satisfiedBy(have) {
		met |= NeedMFA
	}
	if c.grant&NeedStrength != 0 && c.strengthSets.satisfiedBy(have) {
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
	if c.freq > 0 && stale {
		out |= NeedSignInFrequency
	}
	return out
}

// applies checks every condition except the inclusion of the user and the application,
// which the index established.
func (c *compiled) applies(s SignIn, v *env) bool {
	return !c.excludesUser(s, v) &&
		!slices.Contains(c.exclApps, s.AppID) &&
		(c.signInRisk == 0 || c.signInRisk&v.signInRisk != 0) && (c.userRisk == 0 || c.userRisk&v.userRisk != 0) &&
		(c.clients == 0 || c.clients&v.client != 0) &&
		c.platformMatches(s.Platform) &&
		(c.loc == nil || v.locationMatches(c.loc, s))
}

func (c *compiled) excludesUser(s SignIn, v *env) bool {
	if c.exclGuests && s.Guest {
		return true
	}
	for _, n := range c.exclPrincipals {
		if v.members[n/64]&(1<<(n%64)) != 0 {
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
