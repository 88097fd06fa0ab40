package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/store"
)

// Devices: the device id, lower-cased, is the unique lookup, so one device id names one
// device per tenant; the registering identity is the ref, which is what a re-join looks
// devices up by.
var devices = docKind[directory.Device]{
	name: "device", what: "device",
	ids: func(d *directory.Device) (*string, *string) { return &d.TenantID, &d.ID },
	key: func(d directory.Device) string { return strings.ToLower(d.DeviceID) },
	ref: func(d directory.Device) string { return d.RegisteredBy },
	stamp: func(d *directory.Device, v int64, c time.Time) {
		d.Version, d.Created = v, c
	},
	exists: func(d directory.Device) string {
		return "A device with id " + d.DeviceID + " (or object id " + d.ID + ") already exists."
	},
}

// CreateDevice stores d with Version 1 and Created now; it is validated first.
func (s *Store) CreateDevice(ctx context.Context, d directory.Device) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return devices.create(ctx, s, "store.CreateDevice", d)
}

// GetDevice finds a device by object id.
func (s *Store) GetDevice(ctx context.Context, tenantID, id string) (directory.Device, error) {
	return devices.get(ctx, s, "store.GetDevice", tenantID, id)
}

// GetDeviceByDeviceID finds a device by its device id, case-insensitively.
func (s *Store) GetDeviceByDeviceID(ctx context.Context, tenantID, deviceID string) (directory.Device, error) {
	const op = "store.GetDeviceByDeviceID"
	if deviceID == "" {
		return directory.Device{}, notFound(op, "device", "")
	}
	return devices.getByKey(ctx, s, op, tenantID, strings.ToLower(deviceID))
}

// ListDevices returns the tenant's devices, oldest first.
func (s *Store) ListDevices(ctx context.Context, tenantID string) ([]directory.Device, error) {
	return devices.list(ctx, s, "store.ListDevices", tenantID, "")
}

// UpdateDevice is compare-and-swap; the new value is validated before it is written.
func (s *Store) UpdateDevice(ctx context.Context, tenantID, id string, fn func(directory.Device) (directory.Device, error)) (directory.Device, error) {
	return devices.update(ctx, s, "store.UpdateDevice", tenantID, id, func(old directory.Device) (directory.Device, error) {
		nv, err := fn(old)
		if err != nil {
			return nv, err
		}
		nv.TenantID, nv.ID = old.TenantID, old.ID
		return nv, nv.Validate()
	})
}

// DeleteDevice fails with NotFound when there is no such device.
func (s *Store) DeleteDevice(ctx context.Context, tenantID, id string) error {
	return devices.remove(ctx, s.c, "store.DeleteDevice", tenantID, id)
}

// deviceCAID is the one document id of a tenant's device authority, unique per tenant by the
// docs table's primary key, as the SSH authority's is.
const deviceCAID = "device-ca"

var deviceCAs = docKind[store.DeviceCA]{
	name: "deviceCA", what: "device certificate authority",
	ids: func(c *store.DeviceCA) (*string, *string) {
		id := deviceCAID
		return &c.TenantID, &id
	},
	key: func(store.DeviceCA) string { return "" },
	ref: func(store.DeviceCA) string { return "" },
	stamp: func(c *store.DeviceCA, v int64, created time.Time) {
		c.Version, c.Created = v, created
	},
	exists: func(store.DeviceCA) string { return "The tenant already has a device certificate authority." },
}

// CreateDeviceCA stores ca with Version 1 and Created now; Exists when the tenant has one.
func (s *Store) CreateDeviceCA(ctx context.Context, ca store.DeviceCA) error {
	return deviceCAs.create(ctx, s, "store.CreateDeviceCA", ca)
}

// GetDeviceCA returns the tenant's device authority; NotFound when it has none.
func (s *Store) GetDeviceCA(ctx context.Context, tenantID string) (store.DeviceCA, error) {
	return deviceCAs.get(ctx, s, "store.GetDeviceCA", tenantID, deviceCAID)
}
