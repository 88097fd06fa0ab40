package conditional

import (
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
)

// The built-in authentication strengths' ids, the same in every Entra tenant.
const (
	MultifactorID     = "00000000-0000-0000-0000-000000000002"
	PasswordlessID    = "00000000-0000-0000-0000-000000000003"
	PhishingResistID  = "00000000-0000-0000-0000-000000000004"
	PolicyTypeBuiltIn = "builtIn"
	PolicyTypeCustom  = "custom"
)

// modes are the authenticationMethodModes a combination may name, Entra's followed by Latch's
// deviceBoundSoftwareKey. The order fixes each mode's bit in a methodSet.
var modes = []string{
	"password", "voice", "hardwareOath", authn.MethodSoftwareOath, "sms", authn.MethodFIDO2,
	authn.MethodWindowsHello, "microsoftAuthenticatorPush", "deviceBasedPush",
	authn.MethodTAPOneTime, authn.MethodTAPMultiUse, "email", "x509CertificateSingleFactor",
	"x509CertificateMultiFactor", "federatedSingleFactor", "federatedMultiFactor",
	authn.MethodDeviceKey,
}

// Strength is an authenticationStrengthPolicy: a named set of allowed combinations, each a
// comma-separated set of methods that together satisfy it.
//
// A device key held in a file (deviceBoundSoftwareKey) is deliberately in no built-in
// strength: it is not windowsHelloForBusiness, because nothing proves the key lives in
// hardware or that a PIN guarded it, so it satisfies neither MFA nor phishing-resistant MFA.
// Once the authn package can verify a TPM attestation it records such a key as
// windowsHelloForBusiness, and then it satisfies all three. Admins who accept file-held keys
// can name deviceBoundSoftwareKey in a custom strength.
type Strength struct {
	ODataContext          Ignored     `json:"@odata.context,omitzero"`
	ID                    string      `json:"id"`
	Created               time.Time   `json:"createdDateTime,omitzero"`
	Modified              time.Time   `json:"modifiedDateTime,omitzero"`
	DisplayName           string      `json:"displayName"`
	Description           string      `json:"description"`
	PolicyType            string      `json:"policyType"`
	RequirementsSatisfied string      `json:"requirementsSatisfied"`
	AllowedCombinations   Strings     `json:"allowedCombinations"`
	ConfigsContext        Ignored     `json:"combinationConfigurations@odata.context,omitzero"`
	Configs               Unsupported `json:"combinationConfigurations,omitzero"`
}

var multifactorCombinations = Strings{
	"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush",
	"temporaryAccessPassOneTime", "temporaryAccessPassMultiUse",
	"password,microsoftAuthenticatorPush", "password,softwareOath", "password,hardwareOath",
	"password,x509CertificateSingleFactor", "password,x509CertificateMultiFactor",
	"password,sms", "password,voice", "federatedMultiFactor",
	"microsoftAuthenticatorPush,federatedSingleFactor", "softwareOath,federatedSingleFactor",
	"hardwareOath,federatedSingleFactor", "sms,federatedSingleFactor", "voice,federatedSingleFactor",
}

// BuiltInStrengths returns the three built-in strengths with Azure's ids, names and
// allowedCombinations. Each call returns fresh copies the caller may modify.
func BuiltInStrengths() []Strength {
	mk := func(id, name, desc string, combos ...string) Strength {
		return Strength{ID: id, DisplayName: name, Description: desc, PolicyType: PolicyTypeBuiltIn,
			RequirementsSatisfied: "mfa", AllowedCombinations: combos}
	}
	return []Strength{
		mk(MultifactorID, "Multifactor authentication",
			"Combinations of methods that satisfy strong authentication, such as a password + SMS",
			slices.Clone(multifactorCombinations)...),
		mk(PasswordlessID, "Passwordless MFA",
			"Passwordless methods that satisfy strong authentication, such as Passwordless sign-in with the Microsoft Authenticator",
			"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush"),
		mk(PhishingResistID, "Phishing resistant MFA",
			"Phishing-resistant, Passwordless methods for the strongest authentication, such as a FIDO2 Security Key",
			"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"),
	}
}

// BuiltInStrength returns the built-in strength with id, if there is one.
func BuiltInStrength(id string) (Strength, bool) {
	for _, s := range BuiltInStrengths() {
		if strings.EqualFold(s.ID, id) {
			return s, true
		}
	}
	return Strength{}, false
}

// Satisfies reports whether a sign-in that used methods (authn.Method* names, e.g. ["password",
// "softwareOath"]) satisfies strength: some allowed combination is wholly among methods.
// Unknown method names satisfy nothing; an empty strength is never satisfied.
func Satisfies(strength Strength, methods []string) bool {
	have := methodSetOf(methods)
	for _, c := range strength.AllowedCombinations {
		if need, ok := combination(c); ok && need&^have == 0 {
			return true
		}
	}
	return false
}

// ParseStrength reads a custom authenticationStrengthPolicy in Graph's JSON, strictly, and
// validates it (see ValidateCustom). PolicyType is set to custom and RequirementsSatisfied
// computed, whatever the input said, because both are Graph's read-only properties.
//
// Errors: Invalid, naming every problem.
func ParseStrength(b []byte) (Strength, error) {
	const op = "conditional.ParseStrength"
	var s Strength
	if err := decodeStrict(b, &s); err != nil {
		return Strength{}, errs.E(op, errs.Invalid, "The authentication strength is not valid JSON of the authenticationStrengthPolicy shape: "+err.Error(), err)
	}
	s.Created, s.Modified = s.Created.UTC(), s.Modified.UTC()
	s.PolicyType = PolicyTypeCustom
	s.RequirementsSatisfied = requirementsOf(s.AllowedCombinations)
	if err := s.ValidateCustom(); err != nil {
		return Strength{}, errs.E(op, errs.Invalid, errs.Message(err))
	}
	return s, nil
}

// ValidateCustom checks a custom strength: a display name, at least one combination, every
// combination one Entra offers (those of the Multifactor strength) or Latch's
// deviceBoundSoftwareKey, none twice, and no built-in id.
//
// Errors: Invalid, naming every problem.
func (s Strength) ValidateCustom() error {
	v := &problems{}
	if strings.TrimSpace(s.DisplayName) == "" || len(s.DisplayName) > 256 {
		v.add("displayName must be 1 to 256 characters")
	}
	if _, builtIn := BuiltInStrength(s.ID); builtIn {
		v.add("id %s belongs to a built-in strength", s.ID)
	}
	if len(s.AllowedCombinations) == 0 {
		v.add("allowedCombinations must list at least one combination")
	}
	seen := map[methodSet]bool{}
	for _, c := range s.AllowedCombinations {
		set, ok := combination(c)
		if !ok || !offered(set) {
			v.add("allowedCombinations: %q is not a combination Latch offers", clip(c))
		} else if seen[set] {
			v.add("allowedCombinations: %q is listed twice", clip(c))
		}
		seen[set] = true
	}
	v.unsupported("combinationConfigurations", s.Configs)
	return v.err("conditional.Strength.ValidateCustom", "The authentication strength is not valid")
}

// offered reports whether set is a combination a custom strength may contain.
func offered(set methodSet) bool {
	if set == methodSetOf([]string{authn.MethodDeviceKey}) {
		return true
	}
	for _, c := range multifactorCombinations {
		if m, _ := combination(c); m == set {
			return true
		}
	}
	return false
}

// requirementsOf is "mfa" when every combination is one of the Multifactor strength's, else
// "none" (a file-held device key alone is not proven multifactor).
func requirementsOf(combos []string) string {
	for _, c := range combos {
		if !slices.Contains(multifactorCombinations, c) {
			return "none"
		}
	}
	return "mfa"
}

// methodSet is a set of modes, one bit per entry of modes.
type methodSet uint32

func modeBit(name string) methodSet {
	if i := slices.Index(modes, name); i >= 0 {
		return 1 << i
	}
	return 0
}

func methodSetOf(methods []string) methodSet {
	var s methodSet
	for _, m := range methods {
		s |= modeBit(m)
	}
	return s
}

// combination parses "password,softwareOath"; ok is false for an empty part or unknown mode.
func combination(c string) (methodSet, bool) {
	var s methodSet
	for part := range strings.SplitSeq(c, ",") {
		b := modeBit(strings.TrimSpace(part))
		if b == 0 {
			return 0, false
		}
		s |= b
	}
	return s, true
}
