package conditional

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
)

// gen draws policy sets and sign-ins from small universes, so conditions match often enough
// for every path (block, step-up, deny, password change, frequency) to be exercised.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) gen { return gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g gen) chance(p float64) bool { return g.r.Float64() < p }

// pick returns up to n entries of from, possibly none, sometimes upper-cased.
func (g gen) pick(from []string, n int) Strings {
	var out Strings
	for range g.r.IntN(n + 1) {
		v := from[g.r.IntN(len(from))]
		if g.chance(0.1) && isGUID(v) {
			v = strings.ToUpper(v)
		}
		if !has(out, v) {
			out = append(out, v)
		}
	}
	return out
}

var (
	genUsers      = []string{alice, bob, All, GuestsOrExternalUsers, None}
	genGroups     = []string{admins, devs}
	genRoles      = []string{roleGA}
	genApps       = []string{linuxApp, otherApp, All, None}
	genLocations  = []string{All, officeID, blockIP, denyLand, "10c00000-0000-4000-8000-0000000000ff"}
	genExclLocs   = []string{AllTrusted, officeID, blockIP, denyLand}
	genRisk       = []string{RiskNone, RiskLow, RiskMedium, RiskHigh}
	genClients    = []string{ClientAll, ClientBrowser, ClientMobileAndDesktop, ClientOther}
	genPlatforms  = []string{"all", "linux", "windows", "macOS"}
	genControls   = []string{ControlMFA, ControlPasswordChange, ControlCompliantDevice}
	genStrengths  = []string{MultifactorID, PasswordlessID, PhishingResistID, customID, "5e000000-0000-4000-8000-00000000dead"}
	genMethods    = []string{"password", "softwareOath", "fido2", "deviceBoundSoftwareKey", "temporaryAccessPassOneTime", "windowsHelloForBusiness"}
	genAddresses  = []string{"198.51.100.7", "203.0.113.9", "192.0.2.50", "2001:db8::7", "::ffff:203.0.113.1"}
	genStates     = []State{StateEnabled, StateEnabled, StateEnabled, StateReportOnly, StateReportOnly, StateDisabled}
	genCountries  = []string{"", "NL", "KP", "kp"}
	genMFAStates  = []directory.MFAState{directory.MFADisabled, directory.MFADisabled, directory.MFADisabled, directory.MFAEnabled, directory.MFAEnforced}
	genFrequency  = []int{1, 4, 24}
	genAuthAgesMn = []int{0, 3, 10, 90, 300, 2000}
)

func (g gen) policy(i int) Policy {
	p := Policy{ID: fmt.Sprintf("p%d", i), DisplayName: fmt.Sprintf("policy %d", g.r.IntN(4)), State: genStates[g.r.IntN(len(genStates))]}
	g.users(&p.Conditions.Users)
	switch {
	case g.chance(0.1):
		p.Conditions.Applications.IncludeUserActions = Strings{ActionRegisterSecurityInfo}
	case g.chance(0.5):
		p.Conditions.Applications.IncludeApplications = Strings{All}
	default:
		p.Conditions.Applications.IncludeApplications = g.pick(genApps, 2)
	}
	if g.chance(0.3) {
		p.Conditions.Applications.ExcludeApplications = g.pick([]string{linuxApp, otherApp}, 1)
	}
	if g.chance(0.3) {
		p.Conditions.SignInRiskLevels = g.pick(genRisk, 3)
		p.Conditions.UserRiskLevels = g.pick(genRisk, 1)
	}
	if g.chance(0.3) {
		p.Conditions.ClientAppTypes = g.pick(genClients, 2)
	}
	if g.chance(0.3) {
		p.Conditions.Locations = &Locations{IncludeLocations: g.pick(genLocations, 2), ExcludeLocations: g.pick(genExclLocs, 1)}
	}
	if g.chance(0.15) {
		p.Conditions.Platforms = &Platforms{IncludePlatforms: g.pick(genPlatforms, 2), ExcludePlatforms: g.pick(genPlatforms[1:], 1)}
	}
	g.controls(&p)
	return p
}

func (g gen) users(u *Users) {
	if g.chance(0.5) {
		u.IncludeUsers = Strings{All}
	} else {
		u.IncludeUsers = g.pick(genUsers, 2)
		u.IncludeGroups, u.IncludeRoles = g.pick(genGroups, 1), g.pick(genRoles, 1)
	}
	if g.chance(0.3) {
		u.ExcludeUsers = g.pick([]string{alice, bob, GuestsOrExternalUsers}, 1)
		u.ExcludeGroups, u.ExcludeRoles = g.pick(genGroups, 1), g.pick(genRoles, 1)
	}
	if g.chance(0.05) {
		u.IncludeGuests = &Guests{Types: "internalGuest"}
	}
	if g.chance(0.05) {
		u.ExcludeGuests = &Guests{Types: "internalGuest"}
	}
}

func (g gen) controls(p *Policy) {
	if g.chance(0.1) {
		p.GrantControls = nil
	} else {
		p.GrantControls = &GrantControls{Operator: []string{OperatorAND, OperatorOR}[g.r.IntN(2)]}
		if g.chance(0.1) {
			p.GrantControls.BuiltInControls = Strings{ControlBlock}
		} else {
			p.GrantControls.BuiltInControls = g.pick(genControls, 2)
		}
		if !slices.Contains(p.GrantControls.BuiltInControls, ControlMFA) && !slices.Contains(p.GrantControls.BuiltInControls, ControlBlock) && g.chance(0.5) {
			p.GrantControls.AuthenticationStrength = &StrengthRef{ID: genStrengths[g.r.IntN(len(genStrengths))]}
		}
	}
	if g.chance(0.25) {
		f := &SignInFrequency{IsEnabled: g.chance(0.9), FrequencyInterval: FrequencyTimeBased}
		if g.chance(0.3) {
			f.FrequencyInterval = FrequencyEveryTime
		} else {
			v, unit := genFrequency[g.r.IntN(len(genFrequency))], []string{FrequencyHours, FrequencyDays}[g.r.IntN(2)]
			f.Value, f.Type = &v, &unit
		}
		p.SessionControls = &SessionControls{SignInFrequency: f}
	}
}

func (g gen) signIn() (SignIn, DirectoryFacts) {
	s := SignIn{UserID: []string{alice, bob, alice, ""}[g.r.IntN(4)], Groups: g.pick(genGroups, 2), Roles: g.pick(genRoles, 1),
		Guest: g.chance(0.2), AppID: []string{linuxApp, otherApp, linuxApp}[g.r.IntN(3)],
		ClientAppType: genClients[1+g.r.IntN(3)], Platform: []string{"", "linux", "windows"}[g.r.IntN(3)],
		Address: netip.MustParseAddr(genAddresses[g.r.IntN(len(genAddresses))]), Country: genCountries[g.r.IntN(len(genCountries))],
		SignInRisk: []string{"", RiskLow, RiskMedium, RiskHigh}[g.r.IntN(4)], UserRisk: []string{"", RiskHigh}[g.r.IntN(2)],
		Methods: g.pick(genMethods, 3), PasswordChanged: g.chance(0.1), Now: testNow}
	s.Groups, s.Roles = lowerAll(s.Groups), lowerAll(s.Roles) // sign-ins carry ids as Latch writes them
	if g.chance(0.1) {
		s.AppID, s.UserAction = "", ActionRegisterSecurityInfo
	}
	if !g.chance(0.05) {
		s.AuthTime = testNow.Add(-time.Duration(genAuthAgesMn[g.r.IntN(len(genAuthAgesMn))]) * time.Minute)
	}
	dir := DirectoryFacts{PerUserMFA: genMFAStates[g.r.IntN(len(genMFAStates))], RegisteredMethods: g.pick(genMethods, 3)}
	return s, dir
}

func (g gen) policies() []Policy {
	ps := make([]Policy, g.r.IntN(7))
	for i := range ps {
		ps[i] = g.policy(i)
	}
	return ps
}

// TestEvaluateMatchesReference compares Evaluate with the naive reference on 100,000 random
// (policy set, sign-in) cases from a fixed seed, and checks that every outcome occurred.
func TestEvaluateMatchesReference(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	g := newGen(7)
	seen := map[Outcome]int{}
	for i := range n {
		ps := g.policies()
		s, dir := g.signIn()
		got := Evaluate(ps, s, dir, testLocations, testStrengths)
		want := refEvaluate(ps, s, dir, testLocations, testStrengths)
		if msg := compare(got, want); msg != "" {
			pj, _ := json.MarshalIndent(ps, "", " ")
			t.Fatalf("case %d: %s\nresults %v\nreference %v\npolicies %s\nsign-in %+v\nfacts %+v", i, msg, kindsOf(got), want.kinds, pj, s, dir)
		}
		seen[got.Outcome]++
	}
	for o := Allow; o <= Block; o++ {
		if seen[o] < n/100 {
			t.Errorf("outcome %v occurred %d times in %d cases: the generator misses a path", o, seen[o], n)
		}
	}
	t.Logf("outcomes over %d cases: %v", n, seen)
}

func kindsOf(r Result) []ResultKind {
	kinds := make([]ResultKind, len(r.Policies))
	for i, p := range r.Policies {
		kinds[i] = p.Result
	}
	return kinds
}

func compare(got Result, want refAnswer) string {
	kinds := kindsOf(got)
	switch {
	case got.Outcome != want.outcome:
		return fmt.Sprintf("outcome %v, reference %v", got.Outcome, want.outcome)
	case !slices.Equal(kinds, want.kinds):
		return fmt.Sprintf("results %v, reference %v", kinds, want.kinds)
	case !slices.Equal(got.StepUpStrengths, want.stepUp):
		return fmt.Sprintf("step-up %v, reference %v", got.StepUpStrengths, want.stepUp)
	}
	return ""
}
