package authn

import "time"

// Method names, as Entra's authentication-strength combinations name them. The sign-in trail
// and Conditional Access read these.
const (
	MethodFIDO2        = "fido2"                   // a passkey (WebAuthn)
	MethodWindowsHello = "windowsHelloForBusiness" // a device-bound key held in hardware
	MethodDeviceKey    = "deviceBoundSoftwareKey"  // a device-bound key held in a file
	MethodPassword     = "password"
	MethodSoftwareOath = "softwareOath" // TOTP
	MethodTAPOneTime   = "temporaryAccessPassOneTime"
	MethodTAPMultiUse  = "temporaryAccessPassMultiUse"
)

// Passkey is a registered WebAuthn credential (or a device-bound CLI key, which is verified the
// same way). CredentialID is unique per tenant.
type Passkey struct {
	ID              string    `json:"id"`
	TenantID        string    `json:"tenantId"`
	UserID          string    `json:"userId"`
	DisplayName     string    `json:"displayName"`
	CredentialID    []byte    `json:"credentialId"`
	PublicKey       []byte    `json:"publicKey"` // COSE key
	AttestationType string    `json:"attestationType"`
	AAGUID          []byte    `json:"aaguid,omitempty"`
	SignCount       uint32    `json:"signCount"`
	CloneWarning    bool      `json:"cloneWarning"`
	BackupEligible  bool      `json:"backupEligible"`
	BackupState     bool      `json:"backupState"`
	Transports      []string  `json:"transports,omitempty"`
	Method          string    `json:"method"` // MethodFIDO2, MethodWindowsHello or MethodDeviceKey
	Created         time.Time `json:"createdDateTime"`
	LastUsed        time.Time `json:"lastUsedDateTime,omitempty"`
	Version         int64     `json:"version"`
}

// TOTPMethod is an enrolled authenticator app (RFC 6238). Secret is the shared key; LastStep
// is the last time step accepted, so each code works once.
type TOTPMethod struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenantId"`
	UserID      string    `json:"userId"`
	DisplayName string    `json:"displayName"`
	Secret      []byte    `json:"secret"`
	Confirmed   bool      `json:"confirmed"` // false until the first code is entered at enrolment
	LastStep    int64     `json:"lastStep"`
	Created     time.Time `json:"createdDateTime"`
	Version     int64     `json:"version"`
}

// Challenge is one WebAuthn ceremony's server state, usable once before Expires.
type Challenge struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenantId"`
	UserID   string    `json:"userId,omitempty"` // empty for discoverable sign-in
	Purpose  string    `json:"purpose"`          // "register" or "login"
	Data     []byte    `json:"data"`             // the library's session data, JSON
	Expires  time.Time `json:"expires"`
}

// AttemptCounter counts failed sign-ins for one key (an account, or an address) in a window.
type AttemptCounter struct {
	Key         string    `json:"key"`
	TenantID    string    `json:"tenantId"`
	WindowStart time.Time `json:"windowStart"`
	Failures    int       `json:"failures"`
	LockedUntil time.Time `json:"lockedUntil,omitempty"`
	// Expires is when the counter stops mattering (its window and any lock are over); the
	// store may delete it from then on, which keeps attempt memory bounded.
	Expires time.Time `json:"expires,omitempty"`
	Version int64     `json:"version"`
}

// Session is a browser sign-in. ID is the hash of the cookie value. A session whose Pending is
// non-empty is half signed in (first factor done, the named next step pending) and reaches
// nothing but that step.
type Session struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenantId"`
	UserID    string    `json:"userId"`
	AMR       []string  `json:"amr"`
	Methods   []string  `json:"methods"` // authn.Method* values that were satisfied
	Pending   string    `json:"pending,omitempty"`
	AuthTime  time.Time `json:"authTime"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"lastSeen"`
	Expires   time.Time `json:"expires"`
	UserAgent string    `json:"userAgent,omitempty"`
	Address   string    `json:"address,omitempty"`
	Version   int64     `json:"version"`
}
