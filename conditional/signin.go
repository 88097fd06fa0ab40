package conditional

import (
	"net/netip"
	"time"

	"github.com/latchsh/latch/directory"
)

// SignIn is what Conditional Access knows about one sign-in. Object ids are lower-case GUIDs,
// as Latch writes them.
type SignIn struct {
	UserID string   // the user's object id; "" for an app-only sign-in, to which no policy applies
	Groups []string // the user's transitive group ids
	Roles  []string // the directory role template ids the user holds, directly or through groups
	Guest  bool     // the user is a guest or external user

	AppID      string // the application (client) id the token or certificate is for
	UserAction string // ActionRegisterSecurityInfo or ActionRegisterDevice, for those flows

	ClientAppType string     // ClientBrowser, ClientMobileAndDesktop, ClientExchangeActiveSync or ClientOther
	Platform      string     // a platforms value (e.g. "linux"), or "" when unknown
	Address       netip.Addr // the client address
	Country       string     // ISO code of Address from the tenant's CountryTable, "" when unknown
	SignInRisk    string     // RiskNone (or ""), RiskLow, RiskMedium, RiskHigh
	UserRisk      string     // the same levels, for the user

	Methods         []string  // authn.Method* names used in this sign-in, e.g. ["password","softwareOath"]
	AuthTime        time.Time // when the person last actually authenticated
	PasswordChanged bool      // the person changed their password during this sign-in
	Now             time.Time // the decision time; evaluation reads no clock
}

// DirectoryFacts are facts about the user that decide what they could do next.
type DirectoryFacts struct {
	PerUserMFA        directory.MFAState // legacy strongAuthenticationRequirements
	RegisteredMethods []string           // authn.Method* names the user has registered and may use
}

// ResultKind is a policy's appliedConditionalAccessPolicy result, as Graph names it.
type ResultKind uint8

// The per-policy results.
const (
	NotApplied ResultKind = iota
	Success
	Failure
	NotEnabled
	ReportOnlyNotApplied
	ReportOnlySuccess
	ReportOnlyFailure
)

var resultNames = [...]string{"notApplied", "success", "failure", "notEnabled",
	"reportOnlyNotApplied", "reportOnlySuccess", "reportOnlyFailure"}

// String is Graph's name for the result.
func (k ResultKind) String() string {
	if int(k) < len(resultNames) {
		return resultNames[k]
	}
	return "unknown"
}

// MarshalText writes Graph's name.
func (k ResultKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Controls is a set of controls, grant and session, one bit each.
type Controls uint16

// The controls a policy can require.
const (
	NeedBlock Controls = 1 << iota
	NeedMFA
	NeedPasswordChange
	NeedStrength
	NeedCompliantDevice
	NeedDomainJoinedDevice
	NeedApprovedApplication
	NeedCompliantApplication
	NeedSignInFrequency
)

var controlNames = []string{ControlBlock, ControlMFA, ControlPasswordChange,
	"authenticationStrength", ControlCompliantDevice, ControlDomainJoinedDevice,
	ControlApprovedApplication, ControlCompliantApplication, "signInFrequency"}

// Names lists the controls in a fixed order, with Graph's builtInControls names and
// "authenticationStrength" and "signInFrequency" for the other two.
func (c Controls) Names() []string {
	var out []string
	for i, n := range controlNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// PolicyResult is one policy's outcome for a sign-in. It holds no pointer, so the thousand
// results of a large tenant cost the garbage collector nothing to scan; Result.PolicyOf
// returns the policy itself.
type PolicyResult struct {
	// The fields are ordered largest first so that a result takes 8 bytes, not 12: every
	// evaluation returns one per policy.
	Index     int32      // the policy's position in the policies evaluated; LegacyMFAIndex for per-user MFA
	Unmet     Controls   // what the sign-in lacked, when Result is a failure
	Result    ResultKind //
	CanStepUp bool       // a failure the person could cure by signing in again with their registered methods
}

// LegacyMFAIndex is the Index of the legacy per-user MFA entry.
const LegacyMFAIndex = -1

// Outcome is the decision for the whole sign-in.
type Outcome uint8

// The outcomes, from best to worst for the person.
const (
	Allow          Outcome = iota // every enforced policy is satisfied
	StepUp                        // sign in again: with StepUpStrengths, or just freshly (Reauthenticate)
	ChangePassword                // a policy requires a password change, which they can make
	Deny                          // an enforced policy cannot be satisfied with what the person has registered
	Block                         // an enforced policy blocks access
)

var outcomeNames = [...]string{"allow", "stepUp", "changePassword", "deny", "block"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// Result is Evaluate's answer. Policies follows the order of the policies given, with the
// legacy per-user MFA entry, when it applies, last. Everything else is independent of order.
type Result struct {
	Policies []PolicyResult
	Outcome  Outcome
	// StepUpStrengths are the ids of the strengths (MultifactorID for mfa) the next sign-in
	// must all satisfy, sorted; Reauthenticate asks for a fresh sign-in (sign-in frequency).
	StepUpStrengths []string
	Reauthenticate  bool
	// Status is the sign-in log's conditionalAccessStatus: success, failure or notApplied.
	Status string
	// Message is what the person sees, ErrorCode the Entra error number for the sign-in log,
	// Detail names the deciding policy for the log and the error's description; all empty on
	// Allow.
	Message   string
	ErrorCode int
	Detail    string
	Decider   *Policy // the deciding policy, nil on Allow

	policies []*Policy // shared with the Evaluator, read-only
	// template is each policy's result when it does not apply, shared with the Evaluator,
	// read-only: what Compact leaves out and Expand puts back.
	template []PolicyResult
}

// PolicyOf returns the policy a PolicyResult is about: one of those evaluated (the caller's
// own Policy values, not copies) or LegacyMFAPolicy.
func (r Result) PolicyOf(pr PolicyResult) *Policy {
	if pr.Index == LegacyMFAIndex {
		return LegacyMFAPolicy
	}
	return r.policies[pr.Index]
}
