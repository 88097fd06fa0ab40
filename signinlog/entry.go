package signinlog

import "time"

// Entry is one sign-in, as Graph's signIn resource names its fields.
type Entry struct {
	ID                      string          `json:"id"`
	CreatedDateTime         time.Time       `json:"createdDateTime"`
	UserDisplayName         string          `json:"userDisplayName"`
	UserPrincipalName       string          `json:"userPrincipalName"`
	UserID                  string          `json:"userId"`
	AppID                   string          `json:"appId"`
	AppDisplayName          string          `json:"appDisplayName"`
	IPAddress               string          `json:"ipAddress"`
	ClientAppUsed           string          `json:"clientAppUsed"`
	CorrelationID           string          `json:"correlationId"`
	ConditionalAccessStatus string          `json:"conditionalAccessStatus"` // success, failure or notApplied
	IsInteractive           bool            `json:"isInteractive"`
	RiskLevelDuringSignIn   string          `json:"riskLevelDuringSignIn"` // none, low, medium, high
	RiskDetail              string          `json:"riskDetail"`
	RiskEventTypes          []string        `json:"riskEventTypes_v2"`
	Status                  Status          `json:"status"`
	AppliedPolicies         []AppliedPolicy `json:"appliedConditionalAccessPolicies"`
	AuthenticationDetails   []AuthDetail    `json:"authenticationDetails"`
	ResourceDisplayName     string          `json:"resourceDisplayName"`
	ResourceID              string          `json:"resourceId"`
	DeviceDetail            DeviceDetail    `json:"deviceDetail"`
	Latch                   Latch           `json:"latch"`
}

// Status is signInStatus: errorCode 0 means success.
type Status struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason,omitempty"`
	AdditionalDetails string `json:"additionalDetails,omitempty"`
}

// AppliedPolicy is appliedConditionalAccessPolicy.
type AppliedPolicy struct {
	ID                      string   `json:"id"`
	DisplayName             string   `json:"displayName"`
	Result                  string   `json:"result"`
	EnforcedGrantControls   []string `json:"enforcedGrantControls"`
	EnforcedSessionControls []string `json:"enforcedSessionControls"`
}

// AuthDetail is authenticationDetail: one method used and whether it succeeded.
type AuthDetail struct {
	AuthenticationMethod string    `json:"authenticationMethod"`
	Succeeded            bool      `json:"succeeded"`
	StepDateTime         time.Time `json:"authenticationStepDateTime,omitzero"`
}

// DeviceDetail is deviceDetail; Latch fills what it knows.
type DeviceDetail struct {
	DeviceID        string `json:"deviceId"`
	DisplayName     string `json:"displayName"`
	OperatingSystem string `json:"operatingSystem"`
	Browser         string `json:"browser"`
	IsCompliant     bool   `json:"isCompliant"`
	IsManaged       bool   `json:"isManaged"`
	TrustType       string `json:"trustType"`
}

// The sign-in flows Latch logs.
const (
	FlowBrowser           = "browser"
	FlowDeviceCode        = "deviceCode"
	FlowClientCredentials = "clientCredentials"
	FlowManagedIdentity   = "managedIdentity"
	FlowSSHCertificate    = "sshCertificate"
	FlowMachineLogin      = "machineLogin"
)

// Latch holds what Graph's signIn has no field for.
type Latch struct {
	Flow              string       `json:"flow"`
	Outcome           string       `json:"outcome"` // the Conditional Access outcome: allow, stepUp, …
	Methods           []string     `json:"methods"` // authn.Method* names, as policies see them
	StrengthsMet      []string     `json:"authenticationStrengthsSatisfied"`
	RiskReasons       []RiskReason `json:"riskReasons"`
	SSHCertificateKey string       `json:"sshCertificateKeyId,omitempty"`
	MachineResourceID string       `json:"machineResourceId,omitempty"`
	LocalAccount      string       `json:"localAccount,omitempty"` // the account a machine login was for
}

// RiskReason is one risk signal that fired, as risk.Reason gives it.
type RiskReason struct {
	Signal string `json:"signal"`
	Level  string `json:"level"`
	Detail string `json:"detail"`
}
