package conditional

import (
	"slices"
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
	var r Result
	e.EvaluateInto(&r, s, dir)
	return r
}

// EvaluateInto is Evaluate writing its Result into r, reusing r.Policies' storage when it is
// large enough. A caller that is done with each Result before the next evaluation (a load
// test, a batch what-if) can so evaluate without allocating; one that keeps Results, or hands
// them to other goroutines, must use Evaluate, or EvaluateCompact, which pools the Result
// and returns a compact copy.
func (e *Evaluator) EvaluateInto(r *Result, s SignIn, dir DirectoryFacts) {
	policies := r.Policies[:0]
	if cap(policies) < len(e.template)+1 {
		policies = make([]PolicyResult, 0, len(e.template)+1)
	}
	*r = Result{Policies: append(policies, e.template...), policies: e.ptrs, template: e.template}
	*r = e.evaluate(*r, s, dir, nil)
}

// evaluate fills r, whose Policies hold the template, for sign-in s. With kept, it also
// sets *kept to a fresh copy of the results that differ from the template (compact.go).
func (e *Evaluator) evaluate(r Result, s SignIn, dir DirectoryFacts, kept *[]PolicyResult) Result {
	if s.UserID == "" {
		return e.decide(r)
	}
	sc := e.getScratch()
	v := sc.reset(e, s, dir)
	// Only candidates can succeed or fail; the others keep the template's not-applied
	// results. So the outcome is decided from the candidates alone, not all the policies.
	applied, fails := false, sc.fails[:0]
	note := func(pr PolicyResult) {
		switch pr.Result {
		case Success:
			applied = true
		case Failure:
			fails = append(fails, pr)
		}
	}
	for _, i := range e.candidates(sc, s) {
		e.policies[i].evaluate(&r.Policies[i], s, v)
		note(r.Policies[i])
	}
	if dir.PerUserMFA == directory.MFAEnabled || dir.PerUserMFA == directory.MFAEnforced {
		pr := PolicyResult{Index: LegacyMFAIndex}
		legacyCompiled.grantResult(&pr, s, v)
		r.Policies = append(r.Policies, pr)
		note(pr)
	}
	r = e.decideFrom(r, applied, fails)
	sc.fails = fails
	if kept != nil {
		*kept = e.changed(sc, r)
	}
	e.scratch.Put(sc)
	return r
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
	inLoc                []int8 // by locList position: 0 not yet known, 1 contains the address, -1 not
	trusted              int8   // 0 unknown, 1 yes, -1 no
}

// scratch is one evaluation's working memory: the env and the candidate marks. Evaluate takes
// one from the Evaluator's pool and returns it, so steady-state evaluation allocates nothing
// but its Result, which keeps garbage collection out of the sign-in path's tail latency.
type scratch struct {
	env
	mark       []uint8 // by policy: which of the two indexes found it
	candidates []int32 // the policies marked by both, in the order found
	fails      []PolicyResult
}

func (e *Evaluator) getScratch() *scratch {
	if sc, ok := e.scratch.Get().(*scratch); ok {
		return sc
	}
	return &scratch{mark: make([]uint8, len(e.policies)),
		env: env{members: make([]uint64, len(e.ids)/64+1), inLoc: make([]int8, len(e.locList))}}
}

// reset prepares the env for sign-in s, clearing what the previous one left.
func (sc *scratch) reset(e *Evaluator, s SignIn, dir DirectoryFacts) *env {
	have := methodSetOf(s.Methods)
	reg := methodSetOf(dir.RegisteredMethods)
	members, inLoc := sc.members, sc.inLoc
	clear(members)
	clear(inLoc)
	sc.env = env{e: e, have: have, could: have | reg,
		canChange: (have|reg)&modeBit(authn.MethodPassword) != 0,
		age:       s.Now.Sub(s.AuthTime), noAuth: s.AuthTime.IsZero(),
		signInRisk: riskBit(s.SignInRisk), userRisk: riskBit(s.UserRisk), client: clientSetOf(s.ClientAppType),
		members: members, inLoc: inLoc}
	v := &sc.env
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

// The marks candidates sets: found through the principal index, through the application
// index, or both (a candidate).
const (
	byPrincipal uint8 = 1
	byAppIndex  uint8 = 2
	bothIndexes       = byPrincipal | byAppIndex
)

// candidates returns the policies found both through the sign-in's application or user
// action and through its user, groups, roles or guest status, using sc's marks (one entry per
// policy, cleared here) and candidate list. The order is that of discovery; evaluation does
// not depend on it.
func (e *Evaluator) candidates(sc *scratch, s SignIn) []int32 {
	mark, out := sc.mark, sc.candidates[:0]
	clear(mark)
	set := func(list []int32, bit uint8) {
		for _, i := range list {
			if m := mark[i]; m&bit == 0 {
				mark[i] = m | bit
				if m|bit == bothIndexes {
					out = append(out, i)
				}
			}
		}
	}
	set(e.allUsers, byPrincipal)
	set(e.byUser[s.UserID], byPrincipal)
	for _, g := range s.Groups {
		set(e.byGroup[g], byPrincipal)
	}
	for _, r := range s.Roles {
		set(e.byRole[r], byPrincipal)
	}
	if s.Guest {
		set(e.guests, byPrincipal)
	}
	if s.AppID != "" {
		set(e.allApps, byAppIndex)
		set(e.byApp[s.AppID], byAppIndex)
	}
	if s.UserAction != "" {
		set(e.byAction[s.UserAction], byAppIndex)
	}
	sc.candidates = out
	return out
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
		(!c.hasLoc || v.locationMatches(c, s))
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

func (v *env) locationMatches(c *compiled, s SignIn) bool {
	return v.anyLocation(c.inclLoc, s) && !v.anyLocation(c.exclLoc, s)
}

// anyLocation reports whether the address is in any of refs (All, AllTrusted or locations).
func (v *env) anyLocation(refs []int32, s SignIn) bool {
	for _, ref := range refs {
		if ref == locAll || ref == locTrusted && v.isTrusted(s) || ref >= 0 && v.inLocation(ref, s) {
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

// inLocation reports whether the address is in the location at position ref, looking it up
// once per evaluation.
func (v *env) inLocation(ref int32, s SignIn) bool {
	if v.inLoc[ref] == 0 {
		v.inLoc[ref] = -1
		if v.e.locList[ref].Contains(s.Address, s.Country) {
			v.inLoc[ref] = 1
		}
	}
	return v.inLoc[ref] == 1
}
