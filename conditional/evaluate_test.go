package conditional

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

type evalCase struct {
	name       string
	policies   []Policy
	signIn     SignIn
	registered []string
	perUser    directory.MFAState
	outcome    Outcome
	results    []ResultKind // of each policy, in order
	stepUp     []string
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Evaluate(c.policies, c.signIn, DirectoryFacts{PerUserMFA: c.perUser, RegisteredMethods: c.registered},
				testLocations, testStrengths)
			if r.Outcome != c.outcome {
				t.Errorf("outcome %v, want %v (detail %q)", r.Outcome, c.outcome, r.Detail)
			}
			got := make([]ResultKind, len(r.Policies))
			for i, p := range r.Policies {
				got[i] = p.Result
			}
			if c.results != nil && !slices.Equal(got, c.results) {
				t.Errorf("results %v, want %v", got, c.results)
			}
			if !slices.Equal(r.StepUpStrengths, c.stepUp) {
				t.Errorf("step-up %v, want %v", r.StepUpStrengths, c.stepUp)
			}
			if (r.Outcome == Allow) != (r.Err("test") == nil) {
				t.Errorf("Err %v disagrees with outcome %v", r.Err("test"), r.Outcome)
			}
		})
	}
}

func TestEvaluateGrantControls(t *testing.T) {
	phish := pol("phish", nil, strength(PhishingResistID))
	runEvalCases(t, []evalCase{
		{name: "fail/block", policies: []Policy{pol("block", Strings{ControlBlock})}, signIn: signIn(),
			registered: []string{"fido2"}, outcome: Block, results: []ResultKind{Failure}},
		{name: "fail/phishing-resistant-with-totp-step-up", policies: []Policy{phish}, signIn: signIn(),
			registered: []string{"password", "softwareOath", "fido2"}, outcome: StepUp,
			results: []ResultKind{Failure}, stepUp: []string{PhishingResistID}},
		{name: "fail/phishing-resistant-nothing-registered", policies: []Policy{phish}, signIn: signIn(),
			registered: []string{"password", "softwareOath"}, outcome: Deny, results: []ResultKind{Failure},
			stepUp: []string{PhishingResistID}},
		{name: "fail/device-key-is-not-phishing-resistant", policies: []Policy{phish},
			signIn: signIn(with(methods("deviceBoundSoftwareKey"))), registered: []string{"deviceBoundSoftwareKey"},
			outcome: Deny, results: []ResultKind{Failure}, stepUp: []string{PhishingResistID}},
		{name: "fail/mfa-with-password-only", policies: []Policy{pol("mfa", Strings{ControlMFA})},
			signIn: signIn(with(methods("password"))), registered: []string{"password", "softwareOath"},
			outcome: StepUp, results: []ResultKind{Failure}, stepUp: []string{MultifactorID}},
		{name: "fail/and-needs-both", policies: []Policy{pol("and", Strings{ControlMFA, ControlCompliantDevice}, and)},
			signIn: signIn(), outcome: Deny, results: []ResultKind{Failure}},
		{name: "fail/unknown-strength-fails-closed", policies: []Policy{pol("ghost", nil, strength("5e000000-0000-4000-8000-00000000dead"))},
			signIn: signIn(with(methods("fido2"))), registered: []string{"fido2"}, outcome: Deny,
			stepUp: []string{"5e000000-0000-4000-8000-00000000dead"}},
		{name: "fail/password-change", policies: []Policy{pol("risky", Strings{ControlMFA, ControlPasswordChange}, and)},
			signIn: signIn(), registered: []string{"password", "softwareOath"}, outcome: ChangePassword},
		{name: "fail/password-change-without-a-password", policies: []Policy{pol("risky", Strings{ControlPasswordChange})},
			signIn: signIn(with(methods("fido2"))), registered: []string{"fido2"}, outcome: Deny},
		{name: "fail/block-wins-over-step-up", policies: []Policy{phish, pol("block", Strings{ControlBlock})},
			signIn: signIn(), registered: []string{"fido2"}, outcome: Block, results: []ResultKind{Failure, Failure},
			stepUp: []string{}},
		{name: "ok/phishing-resistant-with-passkey", policies: []Policy{phish}, signIn: signIn(with(methods("fido2"))),
			outcome: Allow, results: []ResultKind{Success}},
		{name: "ok/mfa-with-totp", policies: []Policy{pol("mfa", Strings{ControlMFA})}, signIn: signIn(),
			outcome: Allow, results: []ResultKind{Success}},
		{name: "ok/mfa-with-one-time-tap", policies: []Policy{pol("mfa", Strings{ControlMFA})},
			signIn: signIn(with(methods("temporaryAccessPassOneTime"))), outcome: Allow},
		{name: "ok/or-needs-one", policies: []Policy{pol("or", Strings{ControlMFA, ControlCompliantDevice})},
			signIn: signIn(), outcome: Allow, results: []ResultKind{Success}},
		{name: "ok/custom-strength-device-key", policies: []Policy{pol("custom", nil, strength(customID))},
			signIn: signIn(with(methods("deviceBoundSoftwareKey"))), outcome: Allow},
		{name: "ok/password-changed", policies: []Policy{pol("risky", Strings{ControlMFA, ControlPasswordChange}, and)},
			signIn: signIn(func(s *SignIn) { s.PasswordChanged = true }), outcome: Allow},
	})
}

func with(f func(*SignIn)) func(*SignIn) { return f }

func methods(m ...string) func(*SignIn) { return func(s *SignIn) { s.Methods = m } }

func and(p *Policy) { p.GrantControls.Operator = OperatorAND }

func TestEvaluateStates(t *testing.T) {
	block := pol("block", Strings{ControlBlock})
	runEvalCases(t, []evalCase{
		{name: "fail/enabled-block-beside-report-only", policies: []Policy{pol("ro", Strings{ControlBlock}, state(StateReportOnly)), block},
			signIn: signIn(), outcome: Block, results: []ResultKind{ReportOnlyFailure, Failure}},
		{name: "fail/per-user-mfa-enforced", perUser: directory.MFAEnforced, signIn: signIn(with(methods("password"))),
			registered: []string{"password", "softwareOath"}, outcome: StepUp, results: []ResultKind{Failure},
			stepUp: []string{MultifactorID}},
		{name: "fail/per-user-mfa-enabled-nothing-registered", perUser: directory.MFAEnabled,
			signIn: signIn(with(methods("password"))), registered: []string{"password"}, outcome: Deny,
			stepUp: []string{MultifactorID}},
		{name: "ok/report-only-block", policies: []Policy{pol("ro", Strings{ControlBlock}, state(StateReportOnly))},
			signIn: signIn(), outcome: Allow, results: []ResultKind{ReportOnlyFailure}},
		{name: "ok/report-only-not-applied", policies: []Policy{pol("ro", Strings{ControlBlock}, state(StateReportOnly), apps(otherApp))},
			signIn: signIn(), outcome: Allow, results: []ResultKind{ReportOnlyNotApplied}},
		{name: "ok/report-only-success", policies: []Policy{pol("ro", Strings{ControlMFA}, state(StateReportOnly))},
			signIn: signIn(), outcome: Allow, results: []ResultKind{ReportOnlySuccess}},
		{name: "ok/disabled-block", policies: []Policy{pol("off", Strings{ControlBlock}, state(StateDisabled))},
			signIn: signIn(), outcome: Allow, results: []ResultKind{NotEnabled}},
		{name: "ok/per-user-mfa-satisfied", perUser: directory.MFAEnabled, signIn: signIn(), outcome: Allow,
			results: []ResultKind{Success}},
		{name: "ok/app-only-sign-in", policies: []Policy{block}, signIn: signIn(func(s *SignIn) { s.UserID = "" }),
			outcome: Allow, results: []ResultKind{NotApplied}},
	})
}

func TestEvaluateUsers(t *testing.T) {
	block := func(edit func(*Users)) []Policy {
		return []Policy{pol("block", Strings{ControlBlock}, users(edit))}
	}
	guest := with(func(s *SignIn) { s.Guest = true })
	runEvalCases(t, []evalCase{
		{name: "fail/included-user", policies: block(func(u *Users) { u.IncludeUsers = Strings{alice} }), signIn: signIn(), outcome: Block},
		{name: "fail/included-group", policies: block(func(u *Users) { u.IncludeUsers = nil; u.IncludeGroups = Strings{devs} }), signIn: signIn(), outcome: Block},
		{name: "fail/included-role", policies: block(func(u *Users) { u.IncludeUsers = nil; u.IncludeRoles = Strings{roleGA} }),
			signIn: signIn(func(s *SignIn) { s.Roles = []string{roleGA} }), outcome: Block},
		{name: "fail/guests-keyword", policies: block(func(u *Users) { u.IncludeUsers = Strings{GuestsOrExternalUsers} }), signIn: signIn(guest), outcome: Block},
		{name: "fail/guests-object", policies: block(func(u *Users) { u.IncludeUsers = nil; u.IncludeGuests = &Guests{Types: "b2bCollaborationGuest"} }),
			signIn: signIn(guest), outcome: Block},
		{name: "fail/upper-case-ids-in-policy", policies: block(func(u *Users) { u.IncludeUsers = Strings{strings.ToUpper(alice)} }), signIn: signIn(), outcome: Block},
		{name: "ok/excluded-user-beats-all", policies: block(func(u *Users) { u.ExcludeUsers = Strings{alice} }), signIn: signIn(), outcome: Allow,
			results: []ResultKind{NotApplied}},
		{name: "ok/excluded-group-beats-included-user", policies: block(func(u *Users) { u.IncludeUsers = Strings{alice}; u.ExcludeGroups = Strings{devs} }),
			signIn: signIn(), outcome: Allow},
		{name: "ok/excluded-role", policies: block(func(u *Users) { u.ExcludeRoles = Strings{roleGA} }),
			signIn: signIn(func(s *SignIn) { s.Roles = []string{roleGA} }), outcome: Allow},
		{name: "ok/excluded-guests", policies: block(func(u *Users) { u.ExcludeUsers = Strings{GuestsOrExternalUsers} }), signIn: signIn(guest), outcome: Allow},
		{name: "ok/guest-policy-member", policies: block(func(u *Users) { u.IncludeUsers = Strings{GuestsOrExternalUsers} }), signIn: signIn(), outcome: Allow},
		{name: "ok/none", policies: block(func(u *Users) { u.IncludeUsers = Strings{None} }), signIn: signIn(), outcome: Allow},
		{name: "ok/other-user", policies: block(func(u *Users) { u.IncludeUsers = Strings{bob} }), signIn: signIn(), outcome: Allow},
	})
}

func TestEvaluateApplicationsAndActions(t *testing.T) {
	block := func(edits ...func(*Policy)) []Policy { return []Policy{pol("block", Strings{ControlBlock}, edits...)} }
	action := func(p *Policy) {
		p.Conditions.Applications = Applications{IncludeUserActions: Strings{ActionRegisterSecurityInfo}}
	}
	runEvalCases(t, []evalCase{
		{name: "fail/all-apps", policies: block(apps(All)), signIn: signIn(), outcome: Block},
		{name: "fail/user-action", policies: block(action), signIn: signIn(func(s *SignIn) { s.AppID = ""; s.UserAction = ActionRegisterSecurityInfo }), outcome: Block},
		{name: "ok/excluded-app-beats-all", policies: block(apps(All), func(p *Policy) { p.Conditions.Applications.ExcludeApplications = Strings{linuxApp} }),
			signIn: signIn(), outcome: Allow},
		{name: "ok/other-app", policies: block(apps(otherApp)), signIn: signIn(), outcome: Allow},
		{name: "ok/none-app", policies: block(apps(None)), signIn: signIn(), outcome: Allow},
		{name: "ok/user-action-policy-not-for-apps", policies: block(action), signIn: signIn(), outcome: Allow},
	})
}

func TestEvaluateSignInConditions(t *testing.T) {
	block := func(edits ...func(*Policy)) []Policy { return []Policy{pol("block", Strings{ControlBlock}, edits...)} }
	risk := func(levels ...string) func(*Policy) {
		return func(p *Policy) { p.Conditions.SignInRiskLevels = levels }
	}
	clients := func(c ...string) func(*Policy) { return func(p *Policy) { p.Conditions.ClientAppTypes = c } }
	platforms := func(in, ex Strings) func(*Policy) {
		return func(p *Policy) { p.Conditions.Platforms = &Platforms{IncludePlatforms: in, ExcludePlatforms: ex} }
	}
	high := with(func(s *SignIn) { s.SignInRisk = RiskHigh })
	runEvalCases(t, []evalCase{
		{name: "fail/high-risk", policies: block(risk(RiskHigh, RiskMedium)), signIn: signIn(high), outcome: Block},
		{name: "fail/user-risk", policies: block(func(p *Policy) { p.Conditions.UserRiskLevels = Strings{RiskHigh} }),
			signIn: signIn(func(s *SignIn) { s.UserRisk = RiskHigh }), outcome: Block},
		{name: "fail/no-risk-is-none", policies: block(risk(RiskNone)), signIn: signIn(), outcome: Block},
		{name: "fail/client-type", policies: block(clients(ClientMobileAndDesktop)), signIn: signIn(), outcome: Block},
		{name: "fail/client-all", policies: block(clients(ClientAll)), signIn: signIn(), outcome: Block},
		{name: "fail/platform-all-with-unknown-platform", policies: block(platforms(Strings{"all"}, nil)),
			signIn: signIn(func(s *SignIn) { s.Platform = "" }), outcome: Block},
		{name: "fail/platform-linux", policies: block(platforms(Strings{"linux"}, nil)), signIn: signIn(), outcome: Block},
		{name: "ok/low-risk-not-targeted", policies: block(risk(RiskHigh)), signIn: signIn(), outcome: Allow},
		{name: "ok/browser-only", policies: block(clients(ClientBrowser)), signIn: signIn(), outcome: Allow},
		{name: "ok/platform-excluded", policies: block(platforms(Strings{"all"}, Strings{"linux"})), signIn: signIn(), outcome: Allow},
		{name: "ok/unknown-platform-escapes-named", policies: block(platforms(Strings{"linux"}, nil)),
			signIn: signIn(func(s *SignIn) { s.Platform = "" }), outcome: Allow},
	})
}

func TestEvaluateLocations(t *testing.T) {
	block := func(in, ex []string) []Policy {
		return []Policy{pol("block", Strings{ControlBlock}, locations(in, ex))}
	}
	at := func(a string) func(*SignIn) { return func(s *SignIn) { s.Address = netip.MustParseAddr(a) } }
	runEvalCases(t, []evalCase{
		{name: "fail/named-ipv4", policies: block([]string{blockIP}, nil), signIn: signIn(at("192.0.2.9")), outcome: Block},
		{name: "fail/named-ipv6", policies: block([]string{blockIP}, nil), signIn: signIn(at("2001:db8::1")), outcome: Block},
		{name: "fail/ipv4-mapped", policies: block([]string{blockIP}, nil), signIn: signIn(at("::ffff:192.0.2.9")), outcome: Block},
		{name: "fail/all-but-trusted-from-outside", policies: block([]string{All}, []string{AllTrusted}), signIn: signIn(), outcome: Block},
		{name: "fail/country", policies: block([]string{denyLand}, nil), signIn: signIn(func(s *SignIn) { s.Country = "KP" }), outcome: Block},
		{name: "fail/unknown-country-included", policies: block([]string{denyLand}, nil), signIn: signIn(func(s *SignIn) { s.Country = "" }), outcome: Block},
		{name: "ok/all-but-trusted-from-office", policies: block([]string{All}, []string{AllTrusted}), signIn: signIn(at("203.0.113.40")), outcome: Allow},
		{name: "ok/outside-named", policies: block([]string{blockIP}, nil), signIn: signIn(), outcome: Allow},
		{name: "ok/other-country", policies: block([]string{denyLand}, nil), signIn: signIn(), outcome: Allow},
		{name: "ok/excluded-named", policies: block([]string{All}, []string{officeID}), signIn: signIn(at("203.0.113.1")), outcome: Allow},
		{name: "ok/unknown-location-matches-nothing", policies: block([]string{"10c00000-0000-4000-8000-0000000000ff"}, nil), signIn: signIn(), outcome: Allow},
	})
}

func TestEvaluateSignInFrequency(t *testing.T) {
	every := func(p *Policy) {
		p.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{FrequencyInterval: FrequencyEveryTime, IsEnabled: true}}
	}
	ago := func(d time.Duration) func(*SignIn) { return func(s *SignIn) { s.AuthTime = testNow.Add(-d) } }
	runEvalCases(t, []evalCase{
		{name: "fail/older-than-hours", policies: []Policy{pol("freq", Strings{ControlMFA}, frequency(4, FrequencyHours))},
			signIn: signIn(ago(5 * time.Hour)), outcome: StepUp, results: []ResultKind{Failure}},
		{name: "fail/older-than-days", policies: []Policy{pol("freq", Strings{ControlMFA}, frequency(1, FrequencyDays))},
			signIn: signIn(ago(25 * time.Hour)), outcome: StepUp},
		{name: "fail/every-time", policies: []Policy{pol("every", nil, every, func(p *Policy) { p.GrantControls = nil })},
			signIn: signIn(ago(6 * time.Minute)), outcome: StepUp},
		{name: "fail/no-auth-time", policies: []Policy{pol("freq", Strings{ControlMFA}, frequency(4, FrequencyHours))},
			signIn: signIn(func(s *SignIn) { s.AuthTime = time.Time{} }), outcome: StepUp},
		{name: "ok/recent-enough", policies: []Policy{pol("freq", Strings{ControlMFA}, frequency(4, FrequencyHours))},
			signIn: signIn(ago(3 * time.Hour)), outcome: Allow},
		{name: "ok/every-time-fresh", policies: []Policy{pol("every", nil, every, func(p *Policy) { p.GrantControls = nil })},
			signIn: signIn(ago(time.Minute)), outcome: Allow},
	})
}

func TestResultMessages(t *testing.T) {
	cases := []struct {
		name     string
		policies []Policy
		s        SignIn
		reg      []string
		message  string
		code     int
		kind     errs.Kind
	}{
		{"fail/strength-step-up", []Policy{pol("VM needs passkey", nil, strength(PhishingResistID))}, signIn(),
			[]string{"fido2"}, MessageMethodNotAllowed, CodeMFARequired, errs.Unauthenticated},
		{"fail/strength-unregistered", []Policy{pol("VM needs passkey", nil, strength(PhishingResistID))}, signIn(),
			nil, MessageMethodNotAllowed, CodeMFARegister, errs.PermissionDenied},
		{"fail/block", []Policy{pol("VM needs passkey", Strings{ControlBlock})}, signIn(), nil, MessageBlocked, CodeBlocked, errs.PermissionDenied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := eval(c.policies, c.s, c.reg...)
			if r.Message != c.message || r.ErrorCode != c.code || !strings.Contains(r.Detail, "'VM needs passkey'") {
				t.Errorf("got %q %d %q", r.Message, r.ErrorCode, r.Detail)
			}
			err := r.Err("test")
			if errs.KindOf(err) != c.kind || errs.Message(err) != c.message || !strings.Contains(errors.Unwrap(err).Error(), "VM needs passkey") {
				t.Errorf("Err = %v", err)
			}
			if r.Decider == nil || r.Decider.DisplayName != "VM needs passkey" || r.Status != StatusFailure {
				t.Errorf("policy %v status %q", r.Decider, r.Status)
			}
		})
	}
}
