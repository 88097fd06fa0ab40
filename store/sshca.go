package store

import (
	"context"
	"time"
)

// SSHCA is a tenant's SSH user certificate authority as the store keeps it. Key is the
// private key as token.SSHCA.MarshalBinary wrote it, and is secret.
type SSHCA struct {
	TenantID string    `json:"tenantId"`
	Key      []byte    `json:"key"`
	Created  time.Time `json:"created"` // set by the store
	Version  int64     `json:"version"` // set by the store
}

// SSHCAStore keeps one SSH user certificate authority per tenant. Same error rules as Store.
type SSHCAStore interface {
	// CreateSSHCA stores the tenant's authority. Exists when the tenant has one already, so of
	// replicas racing to create it exactly one wins; the losers read the winner's with GetSSHCA
	// rather than retry.
	CreateSSHCA(ctx context.Context, ca SSHCA) error
	// GetSSHCA returns the tenant's authority; NotFound when it has none yet.
	GetSSHCA(ctx context.Context, tenantID string) (SSHCA, error)
}
