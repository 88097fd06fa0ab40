package conditional

import (
	"net/netip"
	"time"
)

// Fixed ids for the tests.
const (
	alice    = "a11ce000-0000-4000-8000-000000000001"
	bob      = "b0b00000-0000-4000-8000-000000000002"
	admins   = "9a000000-0000-4000-8000-000000000010"
	devs     = "9d000000-0000-4000-8000-000000000011"
	roleGA   = "62e90394-69f5-4237-9190-012177145e10"
	linuxApp = "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0"
	otherApp = "0a000000-0000-4000-8000-0000000000aa"
	officeID = "10c00000-0000-4000-8000-000000000100" // trusted IP location
	blockIP  = "10c00000-0000-4000-8000-000000000101" // untrusted IP location
	denyLand = "10c00000-0000-4000-8000-000000000102" // country location
	customID = "c5000000-0000-4000-8000-000000000200"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// pol builds an enabled policy for all users and the Linux sign-in app requiring controls;
// edits adjust it.
func pol(name string, controls []string, edits ...func(*Policy)) Policy {
	p := Policy{ID: "p-" + name, DisplayName: name, State: StateEnabled,
		Conditions: Conditions{
			Users:        Users{IncludeUsers: Strings{All}},
			Applications: Applications{IncludeApplications: Strings{linuxApp}},
		},
		GrantControls: &GrantControls{Operator: OperatorOR, BuiltInControls: controls},
	}
	for _, e := range edits {
		e(&p)
	}
	return p
}

func strength(id string) func(*Policy) {
	return func(p *Policy) { p.GrantControls.AuthenticationStrength = &StrengthRef{ID: id} }
}

func state(s State) func(*Policy) { return func(p *Policy) { p.State = s } }

func users(f func(*Users)) func(*Policy) { return func(p *Policy) { f(&p.Conditions.Users) } }

func apps(include ...string) func(*Policy) {
	return func(p *Policy) { p.Conditions.Applications.IncludeApplications = include }
}

func locations(include, exclude []string) func(*Policy) {
	return func(p *Policy) {
		p.Conditions.Locations = &Locations{IncludeLocations: include, ExcludeLocations: exclude}
	}
}

func frequency(value int, unit string) func(*Policy) {
	return func(p *Policy) {
		p.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{Value: &value, Type: &unit,
			FrequencyInterval: FrequencyTimeBased, IsEnabled: true}}
	}
}

// signIn is alice signing in to the Linux app from 198.51.100.7 with password and TOTP, a
// minute ago.
func signIn(edits ...func(*SignIn)) SignIn {
	s := SignIn{UserID: alice, Groups: []string{devs}, AppID: linuxApp, ClientAppType: ClientMobileAndDesktop,
		Platform: "linux", Address: netip.MustParseAddr("198.51.100.7"), Country: "NL",
		Methods: []string{"password", "softwareOath"}, AuthTime: testNow.Add(-time.Minute), Now: testNow}
	for _, e := range edits {
		e(&s)
	}
	return s
}

var testLocations = []NamedLocation{
	{ID: officeID, DisplayName: "Office", IsTrusted: true, IPRanges: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}},
	{ID: blockIP, DisplayName: "Bad net", IPRanges: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}},
	{ID: denyLand, DisplayName: "Embargo", Country: true, Countries: []string{"KP"}, IncludeUnknown: true},
}

var testStrengths = map[string]Strength{
	customID: {ID: customID, DisplayName: "Device key or passkey", PolicyType: PolicyTypeCustom,
		AllowedCombinations: Strings{"fido2", "deviceBoundSoftwareKey"}},
}

func eval(policies []Policy, s SignIn, registered ...string) Result {
	return Evaluate(policies, s, DirectoryFacts{RegisteredMethods: registered}, testLocations, testStrengths)
}
