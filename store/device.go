package store

import (
	"context"
	"time"

	"github.com/latchsh/latch/directory"
)

// DeviceCA is a tenant's device certificate authority as the store keeps it. Key is what
// token.DeviceCA.MarshalBinary wrote (the CA certificate and its private key), and is secret.
type DeviceCA struct {
	TenantID string    `json:"tenantId"`
	Key      []byte    `json:"key"`
	Created  time.Time `json:"created"` // set by the store
	Version  int64     `json:"version"` // set by the store
}

// DeviceStore keeps the directory's devices and each tenant's device certificate authority.
// Same error rules as Store.
type DeviceStore interface {
	// CreateDevice stores d with Version 1 and Created now. Exists when the object id or the
	// device id is taken in the tenant. Display names need not be unique, as in Entra.
	CreateDevice(ctx context.Context, d directory.Device) error
	// GetDevice finds a device by object id; NotFound when the tenant has none.
	GetDevice(ctx context.Context, tenantID, id string) (directory.Device, error)
	// GetDeviceByDeviceID finds a device by its device id (case-insensitive); NotFound when
	// the tenant has none.
	GetDeviceByDeviceID(ctx context.Context, tenantID, deviceID string) (directory.Device, error)
	// ListDevices returns the tenant's devices, oldest first.
	ListDevices(ctx context.Context, tenantID string) ([]directory.Device, error)
	// UpdateDevice is compare-and-swap; fn may not change the device id into a taken one
	// (Exists).
	UpdateDevice(ctx context.Context, tenantID, id string, fn func(directory.Device) (directory.Device, error)) (directory.Device, error)
	// DeleteDevice fails with NotFound when there is no such device.
	DeleteDevice(ctx context.Context, tenantID, id string) error

	// CreateDeviceCA stores the tenant's device authority. Exists when the tenant has one
	// already, so of replicas racing to create it exactly one wins; the losers read the
	// winner's with GetDeviceCA.
	CreateDeviceCA(ctx context.Context, ca DeviceCA) error
	// GetDeviceCA returns the tenant's device authority; NotFound when it has none yet.
	GetDeviceCA(ctx context.Context, tenantID string) (DeviceCA, error)
}
