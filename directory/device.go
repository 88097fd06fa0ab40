package directory

import (
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// Device trust types and profile types, as Graph's device resource names them. A machine
// joined by its managed identity is Entra-joined: trustType "AzureAd", profileType
// "RegisteredDevice".
const (
	TrustTypeAzureAD         = "AzureAd"
	ProfileRegisteredDevice  = "RegisteredDevice"
	maxDeviceDisplayName     = 256
	maxDeviceOSField         = 128
	maxDeviceIdentifierCount = 16
)

// Device is a machine registered in the directory. ID is the directory object id; DeviceID is
// the separate identifier the device itself knows and its certificate names, as in Entra,
// where the two differ.
type Device struct {
	ID                            string    `json:"id"`
	TenantID                      string    `json:"tenantId"`
	DeviceID                      string    `json:"deviceId"` // unique per tenant
	DisplayName                   string    `json:"displayName"`
	OperatingSystem               string    `json:"operatingSystem"`
	OperatingSystemVersion        string    `json:"operatingSystemVersion"`
	TrustType                     string    `json:"trustType"`
	ProfileType                   string    `json:"profileType"`
	AccountEnabled                bool      `json:"accountEnabled"`
	RegistrationDateTime          time.Time `json:"registrationDateTime"`
	ApproximateLastSignInDateTime time.Time `json:"approximateLastSignInDateTime,omitzero"`
	PhysicalIDs                   []string  `json:"physicalIds"`
	// AlternativeSecurityIDs hold the device certificate's thumbprint, Entra's link between a
	// device object and the key that proves to be it.
	AlternativeSecurityIDs []AlternativeSecurityID `json:"alternativeSecurityIds"`
	Certificate            DeviceCertificate       `json:"certificate"`
	// RegisteredBy is the object id of the managed identity that joined the device; only it
	// may make the device leave, and its next join replaces this device.
	RegisteredBy string `json:"registeredBy"`
	// ResourceID is the ARM id of the VM the managed identity belongs to.
	ResourceID string    `json:"resourceId"`
	Created    time.Time `json:"created"`
	Version    int64     `json:"version"`
}

// AlternativeSecurityID is Graph's alternativeSecurityId: Type 2 is an X.509 certificate and
// Key its SHA-1 thumbprint, upper-case hex.
type AlternativeSecurityID struct {
	Type             int    `json:"type"`
	IdentityProvider string `json:"identityProvider,omitempty"`
	Key              string `json:"key"`
}

// AltSecIDCertificate is the alternativeSecurityId type of a device certificate.
const AltSecIDCertificate = 2

// DeviceCertificate is what the directory remembers of the certificate it issued the device.
type DeviceCertificate struct {
	Thumbprint string    `json:"thumbprint"` // SHA-1 of the DER, upper-case hex, as dsregcmd shows it
	Serial     string    `json:"serial"`     // hex
	NotBefore  time.Time `json:"notBefore"`
	NotAfter   time.Time `json:"notAfter"`
}

// Validate checks the fields a device must have before the store keeps it. It returns an
// errs.Invalid error naming the first problem.
func (d Device) Validate() error {
	const op = "directory.Device.Validate"
	bad := func(msg string) error { return errs.E(op, errs.Invalid, msg) }
	switch {
	case !IsGUID(d.ID) || !IsGUID(d.DeviceID):
		return bad("A device needs an object id and a device id, both GUIDs.")
	case strings.EqualFold(d.ID, d.DeviceID):
		return bad("A device's object id and device id must differ.")
	case strings.TrimSpace(d.DisplayName) == "" || len(d.DisplayName) > maxDeviceDisplayName || hasControl(d.DisplayName):
		return bad("A device display name of 1 to 256 printable characters is required.")
	case len(d.OperatingSystem) > maxDeviceOSField || len(d.OperatingSystemVersion) > maxDeviceOSField ||
		hasControl(d.OperatingSystem) || hasControl(d.OperatingSystemVersion):
		return bad("The operating system and its version may have at most 128 printable characters each.")
	case d.TrustType != TrustTypeAzureAD:
		return bad("Only Entra-joined devices (trustType AzureAd) can be registered.")
	case len(d.PhysicalIDs) > maxDeviceIdentifierCount || len(d.AlternativeSecurityIDs) > maxDeviceIdentifierCount:
		return bad("A device may have at most 16 physical ids and 16 alternative security ids.")
	case d.RegisteredBy != "" && !IsGUID(d.RegisteredBy):
		return bad("The registering identity must be an object id.")
	}
	return nil
}

// hasControl reports whether s holds a control character, which would garble logs and
// terminal output wherever the name is shown.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
