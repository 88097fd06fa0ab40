package store

import (
	"context"
	"time"
)

// MachineStore keeps the machines onboarded to the control plane and the one-time tokens that
// onboard them. Same error rules as Store. Resource ids are compared ignoring ASCII case.
type MachineStore interface {
	// CreateOnboardingToken stores an unused token; Exists when its hash is taken.
	CreateOnboardingToken(ctx context.Context, t OnboardingToken) error
	// RedeemOnboardingToken marks the token used and returns it, exactly once across all
	// callers. NotFound when unknown, Expired when now is past Expires, Conflict when it was
	// redeemed already. Every failure carries the code "invalid_grant".
	RedeemOnboardingToken(ctx context.Context, tenantID, hash string, now time.Time) (OnboardingToken, error)

	// Machines, by id. CreateMachine gives Exists when the id is taken. ListMachines returns
	// the machines onboarded for one VM resource id, oldest first.
	CreateMachine(ctx context.Context, m Machine) error
	GetMachine(ctx context.Context, tenantID, id string) (Machine, error)
	ListMachines(ctx context.Context, tenantID, resourceID string) ([]Machine, error)
	UpdateMachine(ctx context.Context, tenantID, id string, fn func(Machine) (Machine, error)) (Machine, error)
}

// OnboardingToken lets one machine join as the VM ResourceID once, before Expires. Only the
// SHA-256 of the token is kept; the token itself is shown once, to whoever asked for it.
type OnboardingToken struct {
	TenantID   string
	Hash       string // hex SHA-256 of the token
	ResourceID string // the VM's ARM id
	CreatedBy  string // object id of who asked for it
	Expires    time.Time
	Used       bool
	UsedAt     time.Time
	Version    int64     // set by the store
	Created    time.Time // set by the store
}

// Machine is an onboarded machine: the VM it runs as and the public half of the key pair it
// generated for itself, with which it signs every request.
type Machine struct {
	TenantID   string
	ID         string
	ResourceID string // the VM's ARM id
	PublicKey  []byte // P-256, PKIX DER
	Status     MachineStatus
	LastSeen   time.Time // when the machine last proved itself; zero if never since onboarding
	Version    int64     // set by the store
	Created    time.Time // set by the store
}

// MachineStatus is what the machine last reported of itself.
type MachineStatus struct {
	OSType       string
	OSVersion    string
	Hostname     string
	Addresses    []string
	AgentVersion string
	Reported     time.Time
}
