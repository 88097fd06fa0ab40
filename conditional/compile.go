package conditional

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Evaluator is a set of policies prepared for many evaluations: ids lower-cased, lists turned
// into sets and bit masks, and the enabled and report-only policies indexed by the
// application and the user, group or role they include, so a sign-in looks only at the
// policies that could apply to it. It is immutable and safe for concurrent use.
type Evaluator struct {
	policies  []compiled
	template  []PolicyResult // each policy's result when it does not apply
	ptrs      []*Policy
	byApp     map[string][]int32
	byAction  map[string][]int32
	allApps   []int32
	byUser    map[string][]int32
	byGroup   map[string][]int32
	byRole    map[string][]int32
	allUsers  []int32
	guests    []int32
	ids       map[string]int32 // excluded principal ids, interned
	locations map[string]int32 // lower-case id → position in locList
	locList   []NamedLocation
	trusted   []NamedLocation
	strengths map[string]methodSets

	// scratch holds *scratch values: the per-evaluation working memory, reused so that an
	// evaluation allocates only its Result.
	scratch sync.Pool
	// results holds *Result values with room for every policy's result, for
	// EvaluateCompact (compact.go).
	results sync.Pool
}

// methodSets is a strength's allowed combinations as bit sets; nil satisfies nothing.
type methodSets []methodSet

func (m methodSets) satisfiedBy(have methodSet) bool {
	for _, need := range m {
		if need&^have == 0 {
			return true
		}
	}
	return false
}

// compiled is one policy's conditions and controls in the form evaluation wants.
type compiled struct {
	p                            *Policy
	enforced                     bool
	exclPrincipals               []int32 // interned user, group and role ids excluded
	exclGuests                   bool
	exclApps                     []string
	signInRisk, userRisk         riskSet
	clients                      clientSet
	mfaSets, strengthSets        methodSets // resolved at Compile: nil satisfies nothing
	hasLoc                       bool       // the policy has a locations condition
	inclLoc, exclLoc             []int32    // location refs: a locList position, locAll, locTrusted or locUnknown
	platforms                    bool       // limited to inclPlatforms
	inclPlatforms, exclPlatforms []string
	grant                        Controls // the required grant controls
	and                          bool
	strength                     string // MultifactorID for mfa, or the authenticationStrength id
	freq                         time.Duration
	everyTime                    bool
}

// riskSet is a set of risk levels; zero means any level.
type riskSet uint8

// Compile prepares policies for evaluation with the tenant's named locations and custom
// strengths (the built-ins are always known; a custom strength may not replace one). The
// policies should have passed Validate; Compile does not re-check them, and a policy naming
// an unknown location or strength fails closed at evaluation (see Evaluate). The Evaluator
// keeps pointers into policies: the caller must not modify them afterwards.
func Compile(policies []Policy, locs []NamedLocation, strengths map[string]Strength) *Evaluator {
	e := &Evaluator{byApp: map[string][]int32{}, byAction: map[string][]int32{},
		byUser: map[string][]int32{}, byGroup: map[string][]int32{}, byRole: map[string][]int32{},
		ids: map[string]int32{}, locations: map[string]int32{}, strengths: map[string]methodSets{}}
	e.addLocations(locs)
	e.addStrengths(strengths)
	e.policies = make([]compiled, len(policies))
	e.template = make([]PolicyResult, len(policies))
	e.ptrs = make([]*Policy, len(policies))
	for i := range policies {
		p := &policies[i]
		e.policies[i] = e.compilePolicy(p)
		e.template[i] = PolicyResult{Index: int32(i), Result: notAppliedResult(p.State)}
		e.ptrs[i] = p
		if p.State == StateEnabled || p.State == StateReportOnly {
			e.index(int32(i), p)
		}
	}
	return e
}

func notAppliedResult(s State) ResultKind {
	switch s {
	case StateEnabled:
		return NotApplied
	case StateReportOnly:
		return ReportOnlyNotApplied
	}
	return NotEnabled
}

func (e *Evaluator) addLocations(locs []NamedLocation) {
	for _, l := range locs {
		id := strings.ToLower(l.ID)
		if _, dup := e.locations[id]; !dup {
			e.locations[id] = int32(len(e.locList))
			e.locList = append(e.locList, l)
		} else {
			e.locList[e.locations[id]] = l // the last of a repeated id wins, as a map would keep it
		}
		if l.IsTrusted && !l.Country {
			e.trusted = append(e.trusted, l)
		}
	}
}

func (e *Evaluator) addStrengths(custom map[string]Strength) {
	for _, s := range custom {
		e.strengths[strings.ToLower(s.ID)] = setsOf(s)
	}
	for _, s := range BuiltInStrengths() {
		e.strengths[s.ID] = setsOf(s)
	}
}

func setsOf(s Strength) methodSets {
	var out methodSets
	for _, c := range s.AllowedCombinations {
		if set, ok := combination(c); ok {
			out = append(out, set)
		}
	}
	return out
}

// index files policy i under every application and principal it includes. A policy is a
// candidate for a sign-in only when it is found both through the sign-in's application (or
// user action) and through its user, groups, roles or guest status.
func (e *Evaluator) index(i int32, p *Policy) {
	a := p.Conditions.Applications
	for _, app := range a.IncludeApplications {
		if app == All {
			e.allApps = append(e.allApps, i)
		} else if app != None {
			addTo(e.byApp, strings.ToLower(app), i)
		}
	}
	for _, act := range a.IncludeUserActions {
		addTo(e.byAction, act, i)
	}
	u := p.Conditions.Users
	for _, id := range u.IncludeUsers {
		switch id {
		case All:
			e.allUsers = append(e.allUsers, i)
		case GuestsOrExternalUsers:
			e.guests = append(e.guests, i)
		case None:
		default:
			addTo(e.byUser, strings.ToLower(id), i)
		}
	}
	if u.IncludeGuests != nil {
		e.guests = append(e.guests, i)
	}
	for _, g := range u.IncludeGroups {
		addTo(e.byGroup, strings.ToLower(g), i)
	}
	for _, r := range u.IncludeRoles {
		addTo(e.byRole, strings.ToLower(r), i)
	}
}

func addTo(m map[string][]int32, k string, i int32) { m[k] = append(m[k], i) }

func (e *Evaluator) compilePolicy(p *Policy) compiled {
	c := p.Conditions
	u := c.Users
	out := compiled{p: p, enforced: p.State == StateEnabled,
		exclPrincipals: e.intern(u.ExcludeUsers, u.ExcludeGroups, u.ExcludeRoles),
		exclGuests:     u.ExcludeGuests != nil || slices.Contains(u.ExcludeUsers, GuestsOrExternalUsers),
		exclApps:       lowerAll(c.Applications.ExcludeApplications),
		signInRisk:     riskSetOf(c.SignInRiskLevels), userRisk: riskSetOf(c.UserRiskLevels),
	}
	if c.Locations != nil {
		out.hasLoc = true
		out.inclLoc, out.exclLoc = e.locationRefs(c.Locations.IncludeLocations), e.locationRefs(c.Locations.ExcludeLocations)
	}
	if !slices.Contains(c.ClientAppTypes, ClientAll) {
		out.clients = clientSetOf(c.ClientAppTypes...)
	}
	if c.Platforms != nil {
		out.platforms = !slices.Contains(c.Platforms.IncludePlatforms, "all")
		out.inclPlatforms, out.exclPlatforms = c.Platforms.IncludePlatforms, c.Platforms.ExcludePlatforms
	}
	out.compileControls(p)
	out.mfaSets, out.strengthSets = e.strengths[MultifactorID], e.strengths[out.strength]
	return out
}

// Location refs that are not a position in locList. An id the Evaluator does not know matches
// no address, in includes and excludes alike.
const (
	locAll     = -1
	locTrusted = -2
	locUnknown = -3
)

// locationRefs resolves a policy's location ids once, so evaluation compares numbers
// instead of lower-casing and hashing ids for every policy.
func (e *Evaluator) locationRefs(ids []string) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		switch {
		case id == All:
			out = append(out, locAll)
		case id == AllTrusted:
			out = append(out, locTrusted)
		default:
			n, ok := e.locations[strings.ToLower(id)]
			if !ok {
				n = locUnknown
			}
			out = append(out, n)
		}
	}
	return out
}

// intern gives each excluded principal id a small number, so a sign-in's user, groups and
// roles become one bit set and each exclusion one bit test.
func (e *Evaluator) intern(lists ...[]string) []int32 {
	var out []int32
	for _, list := range lists {
		for _, id := range list {
			id = strings.ToLower(id)
			n, ok := e.ids[id]
			if !ok {
				n = int32(len(e.ids))
				e.ids[id] = n
			}
			out = append(out, n)
		}
	}
	return out
}

// clientSet is a set of client app types; zero means any.
type clientSet uint8

var clientTypes = []string{ClientBrowser, ClientMobileAndDesktop, ClientExchangeActiveSync, ClientOther}

func clientSetOf(types ...string) clientSet {
	var s clientSet
	for _, t := range types {
		if i := slices.Index(clientTypes, t); i >= 0 {
			s |= 1 << i
		}
	}
	return s
}

func (c *compiled) compileControls(p *Policy) {
	if g := p.GrantControls; g != nil {
		c.and = g.Operator == OperatorAND
		for _, name := range g.BuiltInControls {
			if i := slices.Index(controlNames, name); i >= 0 {
				c.grant |= 1 << i
			}
		}
		if g.AuthenticationStrength != nil {
			c.grant |= NeedStrength
			c.strength = strings.ToLower(g.AuthenticationStrength.ID)
		}
		if c.grant&NeedMFA != 0 {
			c.strength = MultifactorID
		}
	}
	if s := p.SessionControls; s != nil && s.SignInFrequency != nil && s.SignInFrequency.IsEnabled {
		c.freq, c.everyTime = frequencyOf(*s.SignInFrequency)
	}
}

// everyTimeSkew is how old an authentication may be and still count as "every time": the
// five minutes Entra allows for clock skew.
const everyTimeSkew = 5 * time.Minute

func frequencyOf(f SignInFrequency) (time.Duration, bool) {
	if f.FrequencyInterval == FrequencyEveryTime {
		return everyTimeSkew, true
	}
	if f.Value == nil || f.Type == nil {
		return 0, false
	}
	unit := time.Hour
	if *f.Type == FrequencyDays {
		unit = 24 * time.Hour
	}
	return time.Duration(*f.Value) * unit, false
}

var riskLevels = []string{RiskNone, RiskLow, RiskMedium, RiskHigh}

func riskSetOf(levels []string) riskSet {
	var s riskSet
	for _, l := range levels {
		if i := slices.Index(riskLevels, l); i >= 0 {
			s |= 1 << i
		}
	}
	return s
}

// riskBit is the set holding just level ("" meaning none); an unknown level is the empty set.
func riskBit(level string) riskSet {
	if level == "" {
		level = RiskNone
	}
	return riskSetOf([]string{level})
}

func lowerAll(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}
