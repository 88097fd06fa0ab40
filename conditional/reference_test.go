package conditional

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/directory"
)

// The naive reference: the rules of doc.go read literally, one policy at a time, over the
// policies as written (no index, no bit sets, no compiled form), so that a mistake in
// Compile's indexing or Evaluate's shortcuts shows up as a disagreement.

type refAnswer struct {
	outcome Outcome
	kinds   []ResultKind
	stepUp  []string
}

type refPolicy struct {
	p         Policy
	kind      ResultKind
	unmet     []string
	canStepUp bool
}

func refEvaluate(policies []Policy, s SignIn, dir DirectoryFacts, locs []NamedLocation, strengths map[string]Strength) refAnswer {
	var all []refPolicy
	for _, p := range policies {
		all = append(all, refOne(p, s, dir, locs, strengths))
	}
	if s.UserID != "" && (dir.PerUserMFA == directory.MFAEnabled || dir.PerUserMFA == directory.MFAEnforced) {
		all = append(all, refControls(*LegacyMFAPolicy, s, dir, strengths))
	}
	var a refAnswer
	for _, r := range all {
		a.kinds = append(a.kinds, r.kind)
	}
	a.outcome, a.stepUp = refOutcome(all)
	return a
}

func refOne(p Policy, s SignIn, dir DirectoryFacts, locs []NamedLocation, strengths map[string]Strength) refPolicy {
	r := refPolicy{p: p}
	switch {
	case p.State == StateDisabled:
		r.kind = NotEnabled
	case s.UserID == "" || !refUserIn(p.Conditions.Users, s) || !refAppIn(p.Conditions.Applications, s) ||
		!refOtherConditions(p.Conditions, s, locs):
		r.kind = NotApplied
		if p.State == StateReportOnly {
			r.kind = ReportOnlyNotApplied
		}
	default:
		r = refControls(p, s, dir, strengths)
	}
	return r
}

func has(list []string, v string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
}

func anyOf(list, values []string) bool {
	for _, v := range values {
		if has(list, v) {
			return true
		}
	}
	return false
}

func refUserIn(u Users, s SignIn) bool {
	in := has(u.IncludeUsers, All) || has(u.IncludeUsers, s.UserID) ||
		s.Guest && (has(u.IncludeUsers, GuestsOrExternalUsers) || u.IncludeGuests != nil) ||
		anyOf(u.IncludeGroups, s.Groups) || anyOf(u.IncludeRoles, s.Roles)
	out := has(u.ExcludeUsers, s.UserID) || s.Guest && (has(u.ExcludeUsers, GuestsOrExternalUsers) || u.ExcludeGuests != nil) ||
		anyOf(u.ExcludeGroups, s.Groups) || anyOf(u.ExcludeRoles, s.Roles)
	return in && !out
}

func refAppIn(a Applications, s SignIn) bool {
	if s.UserAction != "" && has(a.IncludeUserActions, s.UserAction) && !has(a.ExcludeApplications, s.AppID) {
		return true
	}
	if s.AppID == "" {
		return false
	}
	return (has(a.IncludeApplications, All) || has(a.IncludeApplications, s.AppID)) && !has(a.ExcludeApplications, s.AppID)
}

func refOtherConditions(c Conditions, s SignIn, locs []NamedLocation) bool {
	level := func(l string) string {
		if l == "" {
			return RiskNone
		}
		return l
	}
	if len(c.SignInRiskLevels) > 0 && !has(c.SignInRiskLevels, level(s.SignInRisk)) {
		return false
	}
	if len(c.UserRiskLevels) > 0 && !has(c.UserRiskLevels, level(s.UserRisk)) {
		return false
	}
	if len(c.ClientAppTypes) > 0 && !has(c.ClientAppTypes, ClientAll) && !slices.Contains(c.ClientAppTypes, s.ClientAppType) {
		return false
	}
	if pl := c.Platforms; pl != nil {
		if s.Platform != "" && slices.Contains(pl.ExcludePlatforms, s.Platform) {
			return false
		}
		if !slices.Contains(pl.IncludePlatforms, "all") && (s.Platform == "" || !slices.Contains(pl.IncludePlatforms, s.Platform)) {
			return false
		}
	}
	if l := c.Locations; l != nil {
		return refInLocations(l.IncludeLocations, s, locs) && !refInLocations(l.ExcludeLocations, s, locs)
	}
	return true
}

func refInLocations(ids []string, s SignIn, locs []NamedLocation) bool {
	if has(ids, All) {
		return true
	}
	for _, l := range locs {
		if !has(ids, l.ID) && !(has(ids, AllTrusted) && l.IsTrusted && !l.Country) {
			continue
		}
		if refLocationHas(l, s) {
			return true
		}
	}
	return false
}

func refLocationHas(l NamedLocation, s SignIn) bool {
	if l.Country {
		if s.Country == "" {
			return l.IncludeUnknown
		}
		return has(l.Countries, s.Country)
	}
	return slices.ContainsFunc(l.IPRanges, func(p netip.Prefix) bool { return p.Contains(s.Address.Unmap()) })
}

// refControls evaluates the grant and session controls of a policy that applies.
func refControls(p Policy, s SignIn, dir DirectoryFacts, strengths map[string]Strength) refPolicy {
	r := refPolicy{p: p}
	r.unmet = refUnmet(p, s.Methods, s.PasswordChanged, s.Now.Sub(s.AuthTime), s.AuthTime.IsZero(), strengths)
	could := append(slices.Clone(s.Methods), dir.RegisteredMethods...)
	r.canStepUp = len(refUnmet(p, could, slices.Contains(could, "password"), 0, false, strengths)) == 0
	switch {
	case len(r.unmet) == 0 && p.State == StateEnabled:
		r.kind = Success
	case len(r.unmet) == 0:
		r.kind = ReportOnlySuccess
	case p.State == StateEnabled:
		r.kind = Failure
	default:
		r.kind = ReportOnlyFailure
	}
	return r
}

func refUnmet(p Policy, methods []string, changed bool, age time.Duration, noAuth bool, strengths map[string]Strength) []string {
	var required, unmet []string
	if g := p.GrantControls; g != nil {
		required = slices.Clone(g.BuiltInControls)
		if g.AuthenticationStrength != nil {
			required = append(required, "authenticationStrength")
		}
		for _, c := range required {
			if !refMet(c, g, methods, changed, strengths) {
				unmet = append(unmet, c)
			}
		}
		if g.Operator == OperatorOR && len(unmet) < len(required) {
			unmet = nil
		}
	}
	if sc := p.SessionControls; sc != nil && sc.SignInFrequency != nil && sc.SignInFrequency.IsEnabled {
		if max := refMaxAge(*sc.SignInFrequency); max > 0 && (noAuth || age > max) {
			unmet = append(unmet, "signInFrequency")
		}
	}
	return unmet
}

func refMet(control string, g *GrantControls, methods []string, changed bool, strengths map[string]Strength) bool {
	switch control {
	case ControlMFA:
		return refStrength(MultifactorID, methods, strengths)
	case "authenticationStrength":
		return refStrength(g.AuthenticationStrength.ID, methods, strengths)
	case ControlPasswordChange:
		return changed
	}
	return false
}

func refStrength(id string, methods []string, strengths map[string]Strength) bool {
	st, ok := BuiltInStrength(id)
	if !ok {
		for k, v := range strengths {
			if strings.EqualFold(k, id) {
				st, ok = v, true
			}
		}
	}
	for _, combo := range st.AllowedCombinations {
		need := strings.Split(combo, ",")
		if !slices.ContainsFunc(need, func(m string) bool { return !slices.Contains(methods, m) }) {
			return true
		}
	}
	return false
}

func refMaxAge(f SignInFrequency) time.Duration {
	if f.FrequencyInterval == FrequencyEveryTime {
		return 5 * time.Minute
	}
	if f.Value == nil || f.Type == nil {
		return 0
	}
	if *f.Type == FrequencyDays {
		return time.Duration(*f.Value) * 24 * time.Hour
	}
	return time.Duration(*f.Value) * time.Hour
}

// refOutcome: block wins, then anything the person cannot cure, then a password change, then
// a step-up. The strengths asked for are those of the failures that decided the outcome.
func refOutcome(all []refPolicy) (Outcome, []string) {
	var fails []refPolicy
	for _, r := range all {
		if r.kind == Failure {
			fails = append(fails, r)
		}
	}
	if len(fails) == 0 {
		return Allow, nil
	}
	tests := []struct {
		o Outcome
		f func(refPolicy) bool
	}{
		{Block, func(r refPolicy) bool { return slices.Contains(r.unmet, ControlBlock) }},
		{Deny, func(r refPolicy) bool { return !r.canStepUp }},
		{ChangePassword, func(r refPolicy) bool { return slices.Contains(r.unmet, ControlPasswordChange) }},
		{StepUp, func(refPolicy) bool { return true }},
	}
	for _, t := range tests {
		var ids []string
		found := false
		for _, r := range fails {
			if !t.f(r) {
				continue
			}
			found = true
			if slices.Contains(r.unmet, ControlMFA) || slices.Contains(r.unmet, "authenticationStrength") {
				ids = append(ids, strengthOf(&r.p))
			}
		}
		if found {
			slices.Sort(ids)
			return t.o, slices.Compact(ids)
		}
	}
	panic("unreachable")
}
