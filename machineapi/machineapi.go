// Package machineapi is the wire contract between the control plane and a machine's agent:
// the goal state the agent follows, the status it reports back for each extension, the device
// registration exchange and the login events it ships. Both sides import it; it imports
// nothing of either, so the agent links no server code.
package machineapi

import (
	"encoding/json"
	"time"
)

// Paths of the machine API, relative to the control plane's base URL. Every one but the
// device registration is called with a machine proof (Authorization: MachineProof <jwt>);
// the registration is called with the managed identity's bearer token, as Azure's device
// registration service is.
const (
	// PathGoalState answers GET ?version=V&wait=S: the goal state at once when its version
	// differs from V, otherwise 304 Not Modified after at most S seconds (MaxWaitSeconds).
	PathGoalState = "/machines/goalstate"
	// PathExtensionStatus + "/" + name takes PUT ExtensionStatus.
	PathExtensionStatus = "/machines/extensions"
	// PathLogins takes POST LoginEvents; events are idempotent by ID.
	PathLogins = "/machines/logins"
	// PathDeviceRegistration takes POST DeviceJoinRequest (join) and, with "/" + device id
	// appended, DELETE (leave).
	PathDeviceRegistration = "/EnrollmentServer/device"
)

// MaxWaitSeconds caps how long one long-poll of the goal state waits.
const MaxWaitSeconds = 60

// RegistrationResource is the resource a managed-identity token for device registration is
// asked for, Azure's device registration service's.
const RegistrationResource = "urn:ms-drs:enterpriseregistration.windows.net"

// GoalState is what the control plane wants the machine to be. The agent applies it and
// remembers the Version it applied, so a restart on either side neither repeats nor loses
// a change.
type GoalState struct {
	// Version changes whenever anything below changes; it is opaque to the agent.
	Version    string    `json:"version"`
	IssuedAt   time.Time `json:"issuedAt"`
	TenantID   string    `json:"tenantId"`
	ResourceID string    `json:"resourceId"` // the VM's ARM id
	VMName     string    `json:"vmName"`
	// Identity is the VM's system-assigned managed identity; nil when it has none.
	Identity   *Identity   `json:"identity"`
	Extensions []Extension `json:"extensions"`
	// Login is present while a login extension is on the VM and not being deleted.
	Login     *Login    `json:"login,omitempty"`
	Endpoints Endpoints `json:"endpoints"`
}

// Identity is a managed identity as the machine sees it.
type Identity struct {
	PrincipalID string `json:"principalId"` // the object id, a token's oid
	ClientID    string `json:"clientId"`
	TenantID    string `json:"tenantId"`
}

// Extension states in the goal state.
const (
	ExtensionEnabled  = "enabled"  // apply it (again, when Generation changed)
	ExtensionDeleting = "deleting" // undo it, then report ProvisioningDeleted
)

// Extension is one VM extension the machine must apply or undo.
type Extension struct {
	Name               string          `json:"name"`
	Publisher          string          `json:"publisher"`
	Type               string          `json:"type"`
	TypeHandlerVersion string          `json:"typeHandlerVersion"`
	Settings           json.RawMessage `json:"settings,omitempty"`
	State              string          `json:"state"`
	// Generation changes each time the extension is set, so setting it again with the same
	// properties runs it again, as Azure's forceUpdateTag does.
	Generation string `json:"generation"`
}

// Login is what the machine needs to decide logins on its own: the tenant's user CA and who
// may log in, and as what. The machine may use it for TTLSeconds after it last heard from the
// control plane (a long-poll answered, 304 included); after that it refuses every directory
// login until it hears again.
type Login struct {
	CAKeys     []string    `json:"caKeys"` // authorized_keys lines of the tenant's SSH user CA
	Users      []LoginUser `json:"users"`  // sorted by ObjectID
	TTLSeconds int         `json:"ttlSeconds"`
}

// LoginUser is one enabled directory user holding Virtual Machine User Login or
// Administrator Login on the VM (directly, by group, at any scope above).
type LoginUser struct {
	ObjectID          string `json:"objectId"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	LocalName         string `json:"localName"` // directory.LocalName of the UPN
	Admin             bool   `json:"admin"`     // holds loginAsAdmin
	// Requirements are what Conditional Access asks of this user's login to this VM, for the
	// machine to check again at login: each inner list is one combination of authentication
	// methods (authn's method names, as policies see them) that satisfies every enforced
	// policy; the certificate's methods must include one combination. Empty: no requirement
	// beyond a valid certificate. Block is set when a policy blocks the login outright.
	Requirements [][]string `json:"requirements,omitempty"`
	Block        string     `json:"block,omitempty"` // the blocking policy's name
}

// Endpoints are the control-plane endpoints the agent uses and checks; like Azure's clouds
// they differ between deployments only in URLs. Each is an absolute https URL.
type Endpoints struct {
	Login        string `json:"login"`        // the token service (login.microsoftonline.com)
	Registration string `json:"registration"` // device registration (enterpriseregistration.windows.net)
	Device       string `json:"device"`       // device login (device.login.microsoftonline.com)
	Access       string `json:"access"`       // the access check (pas.windows.net)
	Management   string `json:"management"`   // the resource manager (management.azure.com)
}

// Provisioning states an extension reports, Azure's.
const (
	ProvisioningCreating  = "Creating"
	ProvisioningUpdating  = "Updating"
	ProvisioningSucceeded = "Succeeded"
	ProvisioningFailed    = "Failed"
	ProvisioningDeleting  = "Deleting"
	// ProvisioningDeleted is reported once a deleting extension is undone; the control plane
	// then removes the resource.
	ProvisioningDeleted = "Deleted"
)

// The login extension's failure codes, the article's.
const (
	// CodeUnsupportedOS: "This extension is not supported on the VM's operating system."
	CodeUnsupportedOS = 51
	// CodeTenantUnavailable (terminal error 1007, exit code ExitTenantUnavailable,
	// DSREG_E_MSI_TENANTID_UNAVAILABLE): the tenant could not be read from the metadata
	// service, usually because the VM has no system-assigned managed identity.
	CodeTenantUnavailable = 1007
	ExitTenantUnavailable = -2145648574
	// ExitDiscoveryFailed (DSREG_AUTOJOIN_DISC_FAILED): the registration endpoint could not
	// be reached.
	ExitDiscoveryFailed = -2145648607
)

// ExtensionStatus is what the agent reports for one extension (PUT PathExtensionStatus/name).
type ExtensionStatus struct {
	Generation        string `json:"generation"`
	ProvisioningState string `json:"provisioningState"`
	// Code is the terminal error or exit code; 0 on success.
	Code    int    `json:"code"`
	Message string `json:"message"`
	// Steps are the steps done, in order, for the activity log and troubleshooting.
	Steps []string `json:"steps,omitempty"`
}

// DeviceJoinRequest registers the machine as a device (POST PathDeviceRegistration), in the
// shape of Azure's device registration service: a PKCS#10 request for the device certificate,
// made with a key the machine keeps.
type DeviceJoinRequest struct {
	CertificateRequest CertificateRequest `json:"CertificateRequest"`
	DeviceDisplayName  string             `json:"DeviceDisplayName"`
	DeviceType         string             `json:"DeviceType"` // "Linux", "Windows"
	OSVersion          string             `json:"OSVersion"`
	TargetDomain       string             `json:"TargetDomain"` // the tenant id
	JoinType           int                `json:"JoinType"`     // 4: joined by a managed identity
}

// CertificateRequest is Type "pkcs10" and Data the DER request in standard base64.
type CertificateRequest struct {
	Type string `json:"Type"`
	Data string `json:"Data"`
}

// DeviceJoinResponse carries the device certificate.
type DeviceJoinResponse struct {
	Certificate DeviceCertificate `json:"Certificate"`
	DeviceID    string            `json:"DeviceId"`
	ObjectID    string            `json:"ObjectId"`
	TenantID    string            `json:"TenantId"`
}

// DeviceCertificate is the device's certificate: RawBody is DER in standard base64.
type DeviceCertificate struct {
	Thumbprint string `json:"Thumbprint"`
	RawBody    string `json:"RawBody"`
}

// LoginEvent is one login decided on the machine, accepted or refused (POST PathLogins as
// {"value": [...]}).
type LoginEvent struct {
	ID            string    `json:"id"` // unique per event; the control plane keeps each once
	Time          time.Time `json:"time"`
	User          string    `json:"user"`               // the local account asked for
	ObjectID      string    `json:"objectId,omitempty"` // from the certificate
	UPN           string    `json:"userPrincipalName,omitempty"`
	KeyID         string    `json:"keyId,omitempty"` // the certificate's key id
	Serial        uint64    `json:"serial,omitempty"`
	CorrelationID string    `json:"correlationId,omitempty"` // from the key id: the token request's
	Address       string    `json:"address,omitempty"`       // the client's address, when known
	Allowed       bool      `json:"allowed"`
	Admin         bool      `json:"admin"`
	Reason        string    `json:"reason"`
	// Stale is set when the decision used cached rules because the control plane was
	// unreachable.
	Stale bool `json:"stale,omitempty"`
}
