package directory

import "time"

// Tenant is one directory. The first start of a server creates one.
type Tenant struct {
	ID            string    `json:"id"` // GUID
	DisplayName   string    `json:"displayName"`
	DefaultDomain string    `json:"defaultDomain"` // e.g. contoso.test; UPNs end in it
	SigningAlg    string    `json:"signingAlg"`    // "ES256" (default) or "RS256"
	Created       time.Time `json:"created"`
}

// User is a person in the directory. ID is the object id (a GUID) that tokens carry as oid.
type User struct {
	ID                string    `json:"id"`
	TenantID          string    `json:"tenantId"`
	UserPrincipalName string    `json:"userPrincipalName"` // name@domain, unique per tenant, case-insensitive
	DisplayName       string    `json:"displayName"`
	Mail              string    `json:"mail,omitempty"`
	MailNickname      string    `json:"mailNickname,omitempty"` // "" means the UPN's local part
	AccountEnabled    bool      `json:"accountEnabled"`
	Password          Password  `json:"password"`
	MFA               MFAState  `json:"mfa"` // per-user MFA (strongAuthenticationRequirements)
	Created           time.Time `json:"created"`
	Version           int64     `json:"version"` // set by the store; bumps on every update
}

// Password is the user's password profile. Hash is an encoded argon2id hash, or "" when the
// user has no password (passwordless).
type Password struct {
	Hash                          string    `json:"hash,omitempty"`
	ForceChangePasswordNextSignIn bool      `json:"forceChangePasswordNextSignIn"`
	LastChanged                   time.Time `json:"lastChanged,omitempty"`
}

// MFAState is Entra's legacy per-user MFA state.
type MFAState string

// The per-user MFA states, as strongAuthenticationRequirements names them.
const (
	MFADisabled MFAState = ""
	MFAEnabled  MFAState = "Enabled"
	MFAEnforced MFAState = "Enforced"
)

// Group is a security group. Members holds object ids of users, groups and service principals;
// groups may nest, cycles included (TransitiveGroups copes).
type Group struct {
	ID              string    `json:"id"`
	TenantID        string    `json:"tenantId"`
	DisplayName     string    `json:"displayName"`
	MailNickname    string    `json:"mailNickname"`
	Description     string    `json:"description,omitempty"`
	SecurityEnabled bool      `json:"securityEnabled"`
	Members         []string  `json:"members"`
	Created         time.Time `json:"created"`
	Version         int64     `json:"version"`
}

// Service principal types, as Graph's servicePrincipalType names them.
const (
	SPApplication     = "Application"
	SPManagedIdentity = "ManagedIdentity"
)

// ServicePrincipal is an application's identity in the tenant (Latch keeps the application
// registration on it too: redirect URIs and whether it is a public client). A managed identity
// is a service principal of type ManagedIdentity whose ManagedResourceID names the resource it
// belongs to.
type ServicePrincipal struct {
	ID                    string               `json:"id"` // object id
	TenantID              string               `json:"tenantId"`
	AppID                 string               `json:"appId"` // client id, unique across tenants
	DisplayName           string               `json:"displayName"`
	Type                  string               `json:"servicePrincipalType"`
	AccountEnabled        bool                 `json:"accountEnabled"`
	ServicePrincipalNames []string             `json:"servicePrincipalNames"`
	RedirectURIs          []string             `json:"redirectUris,omitempty"`
	PublicClient          bool                 `json:"publicClient"`
	PasswordCredentials   []PasswordCredential `json:"passwordCredentials,omitempty"`
	KeyCredentials        []KeyCredential      `json:"keyCredentials,omitempty"`
	ManagedResourceID     string               `json:"managedResourceId,omitempty"`
	Created               time.Time            `json:"created"`
	Version               int64                `json:"version"`
}

// PasswordCredential is a client secret. Only its hash is kept; Hint is its first three
// characters, as Entra shows them.
type PasswordCredential struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName,omitempty"`
	Hint        string    `json:"hint"`
	Hash        string    `json:"hash"`
	Start       time.Time `json:"startDateTime"`
	End         time.Time `json:"endDateTime"`
}

// KeyCredential is a public key (a certificate or a bare JWK) the client proves with
// private_key_jwt. Key holds the PEM certificate or the JWK JSON.
type KeyCredential struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName,omitempty"`
	Type        string    `json:"type"` // "AsymmetricX509Cert" or "JsonWebKey"
	Usage       string    `json:"usage"`
	Key         string    `json:"key"`
	Thumbprint  string    `json:"customKeyIdentifier,omitempty"` // base64url SHA-256 of the cert or JWK thumbprint
	Start       time.Time `json:"startDateTime"`
	End         time.Time `json:"endDateTime"`
}

// Sign-in applications that exist in every tenant, with Azure's app ids.
const (
	WindowsVMSignInAppID = "372140e0-b3b7-4226-8ef9-d57986796201"
	LinuxVMSignInAppID   = "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0"
	// AzureCLIAppID is the public client id the az command line signs in with; Latch's CLI uses
	// it too so tokens look alike.
	AzureCLIAppID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
)

// WellKnownApps are the applications every tenant holds from its first start.
var WellKnownApps = []struct{ AppID, DisplayName string }{
	{WindowsVMSignInAppID, "Azure Windows VM Sign-In"},
	{LinuxVMSignInAppID, "Azure Linux VM Sign-In"},
	{AzureCLIAppID, "Microsoft Azure CLI"},
}
