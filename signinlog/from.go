package signinlog

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/risk"
)

// Input is what the caller knows about a sign-in besides the Conditional Access decision.
type Input struct {
	ID            string    // a new GUID for the entry
	Time          time.Time // when the sign-in happened
	CorrelationID string    // shared by every entry of one chain: browser, certificate, machine login

	UserID, UserPrincipalName, UserDisplayName string // empty for an app-only sign-in
	AppID, AppDisplayName                      string
	ResourceID, ResourceDisplayName            string

	Address       netip.Addr
	ClientAppUsed string // Graph's clientAppUsed, e.g. "Browser", "Mobile Apps and Desktop clients"
	Interactive   bool
	Flow          string // a Flow* value

	Methods       []string // authn.Method* names that succeeded
	FailedMethods []string // methods tried and refused, e.g. a wrong password
	// AuthError is set when the sign-in failed before Conditional Access (wrong password,
	// locked account …): the error number and the message shown.
	AuthError *Status

	Risk        risk.Level
	RiskReasons []risk.Reason
	Strengths   []conditional.Strength // the tenant's custom strengths, to report which were met

	SSHCertificateKey, MachineResourceID, LocalAccount string
	Device                                             DeviceDetail
}

// New builds the log entry for a sign-in from its facts and its Conditional Access result.
// The entry's status is the authentication error when there was one (Conditional Access is
// then notApplied), else the decision's error number, message and detail, else success.
func New(in Input, r conditional.Result) Entry {
	e := Entry{ID: in.ID, CreatedDateTime: in.Time.UTC(), UserDisplayName: in.UserDisplayName,
		UserPrincipalName: in.UserPrincipalName, UserID: in.UserID, AppID: in.AppID, AppDisplayName: in.AppDisplayName,
		ClientAppUsed: in.ClientAppUsed, CorrelationID: in.CorrelationID, IsInteractive: in.Interactive,
		ResourceDisplayName: in.ResourceDisplayName, ResourceID: in.ResourceID, DeviceDetail: in.Device,
		RiskLevelDuringSignIn: string(riskOrNone(in.Risk)), RiskDetail: "none",
		ConditionalAccessStatus: r.Status, AppliedPolicies: applied(r), AuthenticationDetails: details(in)}
	if in.Address.IsValid() {
		e.IPAddress = in.Address.Unmap().String()
	}
	e.Latch = Latch{Flow: in.Flow, Outcome: r.Outcome.String(), Methods: slices.Clone(in.Methods),
		StrengthsMet: strengthsMet(in.Methods, in.Strengths), SSHCertificateKey: in.SSHCertificateKey,
		MachineResourceID: in.MachineResourceID, LocalAccount: in.LocalAccount}
	for _, rr := range in.RiskReasons {
		e.RiskEventTypes = append(e.RiskEventTypes, rr.Signal)
		e.Latch.RiskReasons = append(e.Latch.RiskReasons, RiskReason{rr.Signal, string(rr.Level), rr.Detail})
	}
	switch {
	case in.AuthError != nil:
		e.Status = *in.AuthError
		e.ConditionalAccessStatus = conditional.StatusNotApplied
	case r.Outcome != conditional.Allow:
		e.Status = Status{ErrorCode: r.ErrorCode, FailureReason: r.Message, AdditionalDetails: r.Detail}
	}
	if e.ConditionalAccessStatus == "" {
		e.ConditionalAccessStatus = conditional.StatusNotApplied
	}
	return e
}

func riskOrNone(l risk.Level) risk.Level {
	if l == "" {
		return risk.None
	}
	return l
}

// applied lists every policy's result, as Graph does, not only those that applied.
func applied(r conditional.Result) []AppliedPolicy {
	out := make([]AppliedPolicy, 0, len(r.Policies))
	for _, pr := range r.Policies {
		p := r.PolicyOf(pr)
		ap := AppliedPolicy{ID: p.ID, DisplayName: p.DisplayName, Result: pr.Result.String(),
			EnforcedGrantControls: []string{}, EnforcedSessionControls: []string{}}
		if g := p.GrantControls; g != nil {
			ap.EnforcedGrantControls = append(ap.EnforcedGrantControls, g.BuiltInControls...)
			if g.AuthenticationStrength != nil {
				ap.EnforcedGrantControls = append(ap.EnforcedGrantControls, "authenticationStrength")
			}
		}
		if s := p.SessionControls; s != nil && s.SignInFrequency != nil && s.SignInFrequency.IsEnabled {
			ap.EnforcedSessionControls = append(ap.EnforcedSessionControls, "signInFrequency")
		}
		out = append(out, ap)
	}
	return out
}

// methodNames are the names Entra's sign-in log shows for the methods Latch has.
var methodNames = map[string]string{
	authn.MethodPassword:     "Password",
	authn.MethodFIDO2:        "FIDO2 security key",
	authn.MethodWindowsHello: "Windows Hello for Business",
	authn.MethodDeviceKey:    "Device-bound software key",
	authn.MethodSoftwareOath: "OATH verification code",
	authn.MethodTAPOneTime:   "Temporary Access Pass",
	authn.MethodTAPMultiUse:  "Temporary Access Pass",
}

func details(in Input) []AuthDetail {
	out := []AuthDetail{}
	add := func(methods []string, ok bool) {
		for _, m := range methods {
			name, known := methodNames[m]
			if !known {
				name = m
			}
			out = append(out, AuthDetail{AuthenticationMethod: name, Succeeded: ok, StepDateTime: in.Time.UTC()})
		}
	}
	add(in.FailedMethods, false)
	add(in.Methods, true)
	return out
}

// builtInStrengths is conditional.BuiltInStrengths once: they never change, and building them
// afresh for every entry was a measurable part of logging an issuance.
var builtInStrengths = sync.OnceValue(conditional.BuiltInStrengths)

// strengthsMet lists the ids of the built-in and given strengths the methods satisfy. Without
// methods (an app's sign-in) none is: every allowed combination names at least one method.
func strengthsMet(methods []string, custom []conditional.Strength) []string {
	out := []string{}
	if len(methods) == 0 {
		return out
	}
	for _, list := range [][]conditional.Strength{builtInStrengths(), custom} {
		for _, s := range list {
			if conditional.Satisfies(s, methods) {
				out = append(out, s.ID)
			}
		}
	}
	return out
}
