package conditional

import "time"

// State is a policy's conditionalAccessPolicyState.
type State string

// The policy states Graph defines.
const (
	StateEnabled    State = "enabled"
	StateDisabled   State = "disabled"
	StateReportOnly State = "enabledForReportingButNotEnforced"
)

// Special values that may stand in the include and exclude lists instead of object ids.
const (
	All                   = "All"                   // every user, application or location
	None                  = "None"                  // nobody, no application
	GuestsOrExternalUsers = "GuestsOrExternalUsers" // every guest (includeUsers, excludeUsers)
	AllTrusted            = "AllTrusted"            // every trusted named location
)

// Client app types, as conditionalAccessClientApp names them.
const (
	ClientAll                = "all"
	ClientBrowser            = "browser"
	ClientMobileAndDesktop   = "mobileAppsAndDesktopClients"
	ClientExchangeActiveSync = "exchangeActiveSync"
	ClientOther              = "other"
)

// Risk levels, as riskLevel names them. An empty level on a sign-in means none.
const (
	RiskNone   = "none"
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// Built-in grant controls, as conditionalAccessGrantControl names them. Latch has no device
// compliance or app protection yet, so the four device and app controls are accepted in
// policies but never satisfied: a policy that relies on them alone fails closed.
const (
	ControlBlock                = "block"
	ControlMFA                  = "mfa"
	ControlCompliantDevice      = "compliantDevice"
	ControlDomainJoinedDevice   = "domainJoinedDevice"
	ControlApprovedApplication  = "approvedApplication"
	ControlCompliantApplication = "compliantApplication"
	ControlPasswordChange       = "passwordChange"
)

// User actions a policy may target instead of applications.
const (
	ActionRegisterSecurityInfo = "urn:user:registersecurityinfo"
	ActionRegisterDevice       = "urn:user:registerdevice"
)

// Policy is a conditionalAccessPolicy. Its JSON is Graph's: Parse accepts exactly Graph's
// field names, and json.Marshal of a parsed Policy writes the canonical form, which Parse
// accepts again unchanged. Empty lists are written as [], absent objects as null.
type Policy struct {
	ODataContext    Ignored          `json:"@odata.context,omitzero"`
	ID              string           `json:"id,omitempty"`
	TemplateID      Unsupported      `json:"templateId,omitzero"`
	DisplayName     string           `json:"displayName"`
	State           State            `json:"state"`
	Created         time.Time        `json:"createdDateTime,omitzero"`
	Modified        time.Time        `json:"modifiedDateTime,omitzero"`
	Conditions      Conditions       `json:"conditions"`
	GrantControls   *GrantControls   `json:"grantControls"`
	SessionControls *SessionControls `json:"sessionControls"`
}

// Conditions is conditionalAccessConditionSet. Empty risk and client-app lists mean "any".
type Conditions struct {
	Users             Users        `json:"users"`
	Applications      Applications `json:"applications"`
	SignInRiskLevels  Strings      `json:"signInRiskLevels"`
	UserRiskLevels    Strings      `json:"userRiskLevels"`
	ClientAppTypes    Strings      `json:"clientAppTypes"`
	Locations         *Locations   `json:"locations"`
	Platforms         *Platforms   `json:"platforms"`
	SPRiskLevels      Unsupported  `json:"servicePrincipalRiskLevels,omitzero"`
	InsiderRiskLevels Unsupported  `json:"insiderRiskLevels,omitzero"`
	Devices           Unsupported  `json:"devices,omitzero"`
	ClientApps        Unsupported  `json:"clientApplications,omitzero"`
	AuthFlows         Unsupported  `json:"authenticationFlows,omitzero"`
}

// Users is conditionalAccessUsers: object ids of users, groups and directory role templates,
// or the special values All, None and GuestsOrExternalUsers.
type Users struct {
	IncludeUsers  Strings `json:"includeUsers"`
	ExcludeUsers  Strings `json:"excludeUsers"`
	IncludeGroups Strings `json:"includeGroups"`
	ExcludeGroups Strings `json:"excludeGroups"`
	IncludeRoles  Strings `json:"includeRoles"`
	ExcludeRoles  Strings `json:"excludeRoles"`
	IncludeGuests *Guests `json:"includeGuestsOrExternalUsers"`
	ExcludeGuests *Guests `json:"excludeGuestsOrExternalUsers"`
}

// Guests is conditionalAccessGuestsOrExternalUsers. Latch records only whether
// a user is a guest, not which kind of guest nor their home tenant, so any listed type matches
// every guest and externalTenants must be the "all" kind.
type Guests struct {
	Types           string           `json:"guestOrExternalUserTypes"`
	ExternalTenants *ExternalTenants `json:"externalTenants"`
}

// ExternalTenants is conditionalAccessExternalTenants; only membershipKind "all" is accepted.
type ExternalTenants struct {
	ODataType      string `json:"@odata.type,omitempty"`
	MembershipKind string `json:"membershipKind"`
}

// Applications is conditionalAccessApplications: application (client) ids or All/None, or
// user actions. A policy targets applications or user actions, never both.
type Applications struct {
	IncludeApplications Strings     `json:"includeApplications"`
	ExcludeApplications Strings     `json:"excludeApplications"`
	IncludeUserActions  Strings     `json:"includeUserActions"`
	AuthContexts        Unsupported `json:"includeAuthenticationContextClassReferences,omitzero"`
	ApplicationFilter   Unsupported `json:"applicationFilter,omitzero"`
}

// Locations is conditionalAccessLocations: named location ids, All or AllTrusted.
type Locations struct {
	IncludeLocations Strings `json:"includeLocations"`
	ExcludeLocations Strings `json:"excludeLocations"`
}

// Platforms is conditionalAccessPlatforms: device platforms, or "all".
type Platforms struct {
	IncludePlatforms Strings `json:"includePlatforms"`
	ExcludePlatforms Strings `json:"excludePlatforms"`
}

// Operators combining grant controls.
const (
	OperatorAND = "AND"
	OperatorOR  = "OR"
)

// GrantControls is conditionalAccessGrantControls. Custom authentication factors and terms of
// use are not supported: a policy naming any is refused rather than half enforced.
type GrantControls struct {
	Operator                    string       `json:"operator"`
	BuiltInControls             Strings      `json:"builtInControls"`
	CustomAuthenticationFactors Strings      `json:"customAuthenticationFactors"`
	TermsOfUse                  Strings      `json:"termsOfUse"`
	StrengthContext             Ignored      `json:"authenticationStrength@odata.context,omitzero"`
	AuthenticationStrength      *StrengthRef `json:"authenticationStrength"`
}

// StrengthRef names an authentication strength by id. Graph's responses embed the whole
// strength here; Parse accepts those fields and ignores them, because the strength itself
// (looked up by id at evaluation) is what counts.
type StrengthRef struct {
	ID                    string  `json:"id"`
	DisplayName           Ignored `json:"displayName,omitzero"`
	Description           Ignored `json:"description,omitzero"`
	PolicyType            Ignored `json:"policyType,omitzero"`
	RequirementsSatisfied Ignored `json:"requirementsSatisfied,omitzero"`
	AllowedCombinations   Ignored `json:"allowedCombinations,omitzero"`
	Created               Ignored `json:"createdDateTime,omitzero"`
	Modified              Ignored `json:"modifiedDateTime,omitzero"`
	ConfigsContext        Ignored `json:"combinationConfigurations@odata.context,omitzero"`
	Configs               Ignored `json:"combinationConfigurations,omitzero"`
}

// SessionControls is conditionalAccessSessionControls. Only sign-in frequency is enforced;
// the other session controls Graph defines must be absent or null.
type SessionControls struct {
	SignInFrequency   *SignInFrequency `json:"signInFrequency"`
	AppRestrictions   Unsupported      `json:"applicationEnforcedRestrictions,omitzero"`
	CloudAppSecurity  Unsupported      `json:"cloudAppSecurity,omitzero"`
	PersistentBrowser Unsupported      `json:"persistentBrowser,omitzero"`
	ContinuousAccess  Unsupported      `json:"continuousAccessEvaluation,omitzero"`
	DisableResilience Unsupported      `json:"disableResilienceDefaults,omitzero"`
	SecureSignIn      Unsupported      `json:"secureSignInSession,omitzero"`
}

// Sign-in frequency units and intervals.
const (
	FrequencyHours     = "hours"
	FrequencyDays      = "days"
	FrequencyTimeBased = "timeBased"
	FrequencyEveryTime = "everyTime"
	// AuthPrimaryAndSecondary is the only authenticationType Latch enforces: the whole sign-in
	// must be recent, not just its second factor.
	AuthPrimaryAndSecondary = "primaryAndSecondaryAuthentication"
)

// SignInFrequency is signInFrequencySessionControl. Value and Type are null for everyTime.
type SignInFrequency struct {
	Value              *int    `json:"value"`
	Type               *string `json:"type"`
	AuthenticationType string  `json:"authenticationType,omitempty"`
	FrequencyInterval  string  `json:"frequencyInterval,omitempty"`
	IsEnabled          bool    `json:"isEnabled"`
}
