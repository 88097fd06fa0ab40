package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// newDeviceObject is a valid Entra-joined device of tenantID registered by the identity by.
func newDeviceObject(tenantID, name, by string) directory.Device {
	return directory.Device{ID: newID(), TenantID: tenantID, DeviceID: newID(), DisplayName: name,
		OperatingSystem: "Linux", OperatingSystemVersion: "Debian 12", TrustType: directory.TrustTypeAzureAD,
		ProfileType: directory.ProfileRegisteredDevice, AccountEnabled: true, RegistrationDateTime: t0,
		PhysicalIDs: []string{}, RegisteredBy: by,
		AlternativeSecurityIDs: []directory.AlternativeSecurityID{{Type: directory.AltSecIDCertificate, Key: "AB12"}},
		Certificate:            directory.DeviceCertificate{Thumbprint: "AB12", Serial: "01", NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0)},
		ResourceID:             "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/" + name}
}

var deviceFailures = []Case{
	{"fail/device-not-found", func(t *testing.T, s store.Store) {
		_, err := s.GetDevice(ctx(t), newID(), newID())
		wantKind(t, err, errs.NotFound)
		_, err = s.GetDeviceByDeviceID(ctx(t), newID(), newID())
		wantKind(t, err, errs.NotFound)
		_, err = s.GetDeviceByDeviceID(ctx(t), newID(), "")
		wantKind(t, err, errs.NotFound)
		wantKind(t, s.DeleteDevice(ctx(t), newID(), newID()), errs.NotFound)
	}},
	{"fail/device-duplicate-device-id", func(t *testing.T, s store.Store) {
		tid := newID()
		d := newDeviceObject(tid, "vm1", newID())
		must(t, s.CreateDevice(ctx(t), d))
		other := newDeviceObject(tid, "vm2", newID())
		other.DeviceID = strings.ToUpper(d.DeviceID)
		wantKind(t, s.CreateDevice(ctx(t), other), errs.Exists)
		again := newDeviceObject(tid, "vm3", newID())
		again.ID = d.ID
		wantKind(t, s.CreateDevice(ctx(t), again), errs.Exists)
	}},
	{"fail/device-invalid", func(t *testing.T, s store.Store) {
		tid := newID()
		for name, change := range map[string]func(*directory.Device){
			"no device id":     func(d *directory.Device) { d.DeviceID = "" },
			"same ids":         func(d *directory.Device) { d.DeviceID = d.ID },
			"no name":          func(d *directory.Device) { d.DisplayName = " " },
			"control in name":  func(d *directory.Device) { d.DisplayName = "vm\n1" },
			"workplace joined": func(d *directory.Device) { d.TrustType = "Workplace" },
			"long os":          func(d *directory.Device) { d.OperatingSystem = strings.Repeat("x", 129) },
		} {
			d := newDeviceObject(tid, "vm1", newID())
			change(&d)
			if err := s.CreateDevice(ctx(t), d); !errs.Is(err, errs.Invalid) {
				t.Fatalf("%s: got %v, want Invalid", name, err)
			}
		}
	}},
	{"fail/device-update-to-taken-device-id", func(t *testing.T, s store.Store) {
		tid := newID()
		a, b := newDeviceObject(tid, "a", newID()), newDeviceObject(tid, "b", newID())
		must(t, s.CreateDevice(ctx(t), a))
		must(t, s.CreateDevice(ctx(t), b))
		_, err := s.UpdateDevice(ctx(t), tid, b.ID, func(d directory.Device) (directory.Device, error) {
			d.DeviceID = a.DeviceID
			return d, nil
		})
		wantKind(t, err, errs.Exists)
	}},
	{"fail/device-other-tenant", func(t *testing.T, s store.Store) {
		d := newDeviceObject(newID(), "vm1", newID())
		must(t, s.CreateDevice(ctx(t), d))
		_, err := s.GetDevice(ctx(t), newID(), d.ID)
		wantKind(t, err, errs.NotFound)
		_, err = s.GetDeviceByDeviceID(ctx(t), newID(), d.DeviceID)
		wantKind(t, err, errs.NotFound)
		wantKind(t, s.DeleteDevice(ctx(t), newID(), d.ID), errs.NotFound)
	}},
	{"fail/device-ca-second-per-tenant", func(t *testing.T, s store.Store) {
		tid := newID()
		_, err := s.GetDeviceCA(ctx(t), tid)
		wantKind(t, err, errs.NotFound)
		must(t, s.CreateDeviceCA(ctx(t), store.DeviceCA{TenantID: tid, Key: []byte{1}}))
		wantKind(t, s.CreateDeviceCA(ctx(t), store.DeviceCA{TenantID: tid, Key: []byte{2}}), errs.Exists)
		got, err := s.GetDeviceCA(ctx(t), tid)
		must(t, err)
		if len(got.Key) != 1 || got.Key[0] != 1 {
			t.Fatalf("the second create replaced the authority: %x", got.Key)
		}
	}},
}

var deviceOK = []Case{
	{"ok/device-round-trip", func(t *testing.T, s store.Store) {
		tid := newID()
		d := newDeviceObject(tid, "vm1", newID())
		must(t, s.CreateDevice(ctx(t), d))
		got, err := s.GetDeviceByDeviceID(ctx(t), tid, strings.ToUpper(d.DeviceID))
		must(t, err)
		if got.ID != d.ID || got.Version != 1 || got.Created.IsZero() || got.Certificate.Thumbprint != "AB12" ||
			!got.Certificate.NotAfter.Equal(d.Certificate.NotAfter) || got.RegisteredBy != d.RegisteredBy {
			t.Fatalf("got %+v", got)
		}
		byID, err := s.GetDevice(ctx(t), tid, d.ID)
		must(t, err)
		if byID.DeviceID != d.DeviceID {
			t.Fatalf("by object id: %+v", byID)
		}
	}},
	{"ok/device-same-display-name", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.CreateDevice(ctx(t), newDeviceObject(tid, "vm1", newID())))
		must(t, s.CreateDevice(ctx(t), newDeviceObject(tid, "vm1", newID())))
		must(t, s.CreateDevice(ctx(t), newDeviceObject(newID(), "vm1", newID())))
		list, err := s.ListDevices(ctx(t), tid)
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("listed %d devices of the tenant, want 2", len(list))
		}
	}},
	{"ok/device-update-delete", func(t *testing.T, s store.Store) {
		tid := newID()
		d := newDeviceObject(tid, "vm1", newID())
		must(t, s.CreateDevice(ctx(t), d))
		seen := t0.Add(time.Hour)
		got, err := s.UpdateDevice(ctx(t), tid, d.ID, func(old directory.Device) (directory.Device, error) {
			old.ApproximateLastSignInDateTime, old.AccountEnabled = seen, false
			old.TenantID, old.ID = newID(), newID() // ids cannot change
			return old, nil
		})
		must(t, err)
		if got.Version != 2 || got.AccountEnabled || got.ID != d.ID || got.TenantID != tid {
			t.Fatalf("updated to %+v", got)
		}
		got, err = s.GetDevice(ctx(t), tid, d.ID)
		must(t, err)
		if !got.ApproximateLastSignInDateTime.Equal(seen) {
			t.Fatalf("last sign-in %v, want %v", got.ApproximateLastSignInDateTime, seen)
		}
		must(t, s.DeleteDevice(ctx(t), tid, d.ID))
		_, err = s.GetDeviceByDeviceID(ctx(t), tid, d.DeviceID)
		wantKind(t, err, errs.NotFound)
		// The device id is free again once its device is gone.
		again := newDeviceObject(tid, "vm1", newID())
		again.DeviceID = d.DeviceID
		must(t, s.CreateDevice(ctx(t), again))
	}},
}

var deviceConcurrency = []Case{
	{"race/device-ca-one-winner", func(t *testing.T, s store.Store) {
		tid := newID()
		got := tally(race(20, func(i int) error {
			return s.CreateDeviceCA(ctx(t), store.DeviceCA{TenantID: tid, Key: []byte{byte(i)}})
		}))
		if got["ok"] != 1 || got[errs.Exists.String()] != 19 {
			t.Fatalf("20 replicas creating one tenant's device authority: %v, want 1 ok and 19 Exists", got)
		}
	}},
	{"race/device-update-no-lost-write", func(t *testing.T, s store.Store) {
		tid := newID()
		d := newDeviceObject(tid, "vm1", newID())
		d.PhysicalIDs = []string{}
		must(t, s.CreateDevice(ctx(t), d))
		errsOut := race(50, func(i int) error {
			_, err := s.UpdateDevice(ctx(t), tid, d.ID, func(old directory.Device) (directory.Device, error) {
				old.PhysicalIDs = append(old.PhysicalIDs[:len(old.PhysicalIDs):len(old.PhysicalIDs)], "x")
				if len(old.PhysicalIDs) > 16 {
					old.PhysicalIDs = old.PhysicalIDs[1:]
				}
				old.OperatingSystemVersion = strings.Repeat("v", len(old.OperatingSystemVersion)%100+1)
				return old, nil
			})
			return err
		})
		if n := tally(errsOut); n["ok"] != 50 {
			t.Fatalf("50 concurrent updates: %v", n)
		}
		got, err := s.GetDevice(ctx(t), tid, d.ID)
		must(t, err)
		if got.Version != 51 {
			t.Fatalf("version %d after 50 updates, want 51: a write was lost", got.Version)
		}
	}},
}
