package imds

import (
	"context"
	"errors"
	"time"
)

// Source is what the agent gives the metadata service: the machine's description, its managed
// identities, and tokens minted by the control plane. It knows nothing of HTTP; the service
// decides every status code, body and limit.
//
// Every method may be called from many goroutines at once. Instance and Identities are called
// on every request that needs them and should answer from memory (the agent's copy of its goal
// state); Token is called only when the service's own cache has no usable token, never more
// than once at a time for one (identity, resource) pair.
type Source interface {
	// Instance describes the machine. Values the agent does not know are "".
	Instance(ctx context.Context) (Instance, error)
	// Identities lists the managed identities assigned to the machine: at most one with
	// SystemAssigned set, and any number of user-assigned ones. An empty list means the
	// machine has no identity, which is not an error.
	Identities(ctx context.Context) ([]Identity, error)
	// Token returns an access token for id with audience resource, exactly as the caller
	// spelled it. bypassCache asks the agent to skip any cache of its own. It returns an
	// error wrapping ErrIdentityNotFound when the control plane no longer knows id as the
	// machine's identity, ErrInvalidResource when it refuses the audience, and any other
	// error when it cannot be reached or fails (the caller then sees a 500 and retries).
	Token(ctx context.Context, id Identity, resource string, bypassCache bool) (Token, error)
}

// Identity is one managed identity of the machine, with Azure's four names for it.
type Identity struct {
	ClientID       string // the application (client) id: client_id
	ObjectID       string // the service principal's object id: object_id, principal_id, the token's oid
	ResourceID     string // the ARM id of a user-assigned identity: msi_res_id, mi_res_id
	TenantID       string // the directory the identity lives in
	SystemAssigned bool   // the machine's own identity, chosen when a request names none
}

// Token is an access token minted for one identity and audience.
type Token struct {
	AccessToken string
	ExpiresOn   time.Time // required: a token without an expiry is refused
	NotBefore   time.Time // zero: the moment the token was received
	// ExtExpiresOn is the extended lifetime used when the token service is unreachable;
	// zero means the same as ExpiresOn.
	ExtExpiresOn time.Time
}

// Errors a Source returns (wrapped) to choose the answer the caller sees.
var (
	// ErrIdentityNotFound: the identity is not (or no longer) assigned to the machine. The
	// caller gets 400 invalid_request "Identity not found", never 404, which clients retry.
	ErrIdentityNotFound = errors.New("imds: identity not found")
	// ErrInvalidResource: the token service does not know the requested audience. The caller
	// gets 400 invalid_resource with Azure's AADSTS50001 message.
	ErrInvalidResource = errors.New("imds: invalid resource")
)

// Instance is the machine as /metadata/instance describes it.
type Instance struct {
	Compute Compute
	Network Network
}

// Compute is the "compute" object of /metadata/instance, Azure's field names in Go form. Every
// field appears in the answer from the api-version that introduced it; "" when unknown.
type Compute struct {
	AzEnvironment        string
	Location             string
	Name                 string
	Offer                string
	OSType               string
	PlacementGroupID     string
	PlatformFaultDomain  string
	PlatformUpdateDomain string
	Provider             string
	Publisher            string
	ResourceGroupName    string
	ResourceID           string
	SKU                  string
	SubscriptionID       string
	Version              string
	VMID                 string
	VMScaleSetName       string
	VMSize               string
	Zone                 string
	UserData             string // base64, as the VM resource holds it
	Tags                 []Tag  // rendered both as "tags" ("k:v;k:v") and as "tagsList"
	PublicKeys           []PublicKey
	Plan                 Plan
	OSProfile            OSProfile
	SecurityProfile      SecurityProfile
	StorageProfile       StorageProfile
}

// Tag is one resource tag.
type Tag struct{ Name, Value string }

// PublicKey is an SSH public key provisioned for the machine.
type PublicKey struct{ KeyData, Path string }

// Plan is the marketplace plan of the image.
type Plan struct{ Name, Product, Publisher string }

// OSProfile is compute.osProfile.
type OSProfile struct {
	AdminUsername                 string
	ComputerName                  string
	DisablePasswordAuthentication string // "true" or "false"
}

// SecurityProfile is compute.securityProfile; booleans are "true"/"false" strings.
type SecurityProfile struct {
	SecureBootEnabled string
	VirtualTpmEnabled string
	EncryptionAtHost  string
	SecurityType      string
}

// StorageProfile is compute.storageProfile.
type StorageProfile struct {
	ImageReference ImageReference
	OSDisk         Disk
	DataDisks      []Disk
}

// ImageReference names the image the machine was made from.
type ImageReference struct{ ID, Offer, Publisher, SKU, Version string }

// Disk is an OS or data disk; Lun is used for data disks only.
type Disk struct {
	Caching                 string
	CreateOption            string
	DiskSizeGB              string
	Lun                     string
	ManagedDiskID           string
	StorageAccountType      string
	Name                    string
	OSType                  string
	WriteAcceleratorEnabled string
}

// Network is the "network" object of /metadata/instance.
type Network struct {
	Interfaces []Interface
}

// Interface is one network interface; MACAddress is 12 upper-case hex digits as Azure writes it.
type Interface struct {
	MACAddress string
	IPv4       []IPAddress
	Subnets    []Subnet
	IPv6       []IPAddress
}

// IPAddress is one private address and the public address mapped to it, if any.
type IPAddress struct{ Private, Public string }

// Subnet is an IPv4 subnet: its network address and prefix length, e.g. "10.0.0.0" and "24".
type Subnet struct{ Address, Prefix string }
