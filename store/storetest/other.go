package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

func newTenant() directory.Tenant {
	return directory.Tenant{ID: newID(), DisplayName: "Contoso", DefaultDomain: "contoso.test", SigningAlg: "ES256"}
}

func newKey(tenantID string, gen int64) token.SigningKey {
	return token.SigningKey{ID: newID(), TenantID: tenantID, Generation: gen, Alg: "ES256",
		PrivateKey: []byte{0x30, 0x81, byte(gen), 0x00, 0xff}, Created: t0,
		SignUntil: t0.Add(time.Duration(gen) * time.Hour), VerifyUntil: t0.Add(time.Duration(gen+2) * time.Hour)}
}

var otherFailures = []Case{
	{"fail/tenant-duplicate", func(t *testing.T, s store.Store) {
		tn := newTenant()
		must(t, s.CreateTenant(ctx(t), tn))
		wantKind(t, s.CreateTenant(ctx(t), tn), errs.Exists)
	}},
	{"fail/tenant-not-found", func(t *testing.T, s store.Store) {
		_, err := s.GetTenant(ctx(t), newID())
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/subscription-duplicate", func(t *testing.T, s store.Store) {
		sub := resource.Subscription{ID: newID(), TenantID: newID(), DisplayName: "dev", State: "Enabled"}
		must(t, s.CreateSubscription(ctx(t), sub))
		sub.TenantID = newID()
		wantKind(t, s.CreateSubscription(ctx(t), sub), errs.Exists)
	}},
	{"fail/signing-key-duplicate-generation", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.AddSigningKey(ctx(t), newKey(tid, 1)))
		wantKind(t, s.AddSigningKey(ctx(t), newKey(tid, 1)), errs.Exists)
	}},
	{"fail/signing-key-duplicate-kid", func(t *testing.T, s store.Store) {
		k := newKey(newID(), 1)
		must(t, s.AddSigningKey(ctx(t), k))
		k.Generation = 2
		wantKind(t, s.AddSigningKey(ctx(t), k), errs.Exists)
	}},
	{"fail/signing-key-delete-unknown", func(t *testing.T, s store.Store) {
		k := newKey(newID(), 1)
		must(t, s.AddSigningKey(ctx(t), k))
		wantKind(t, s.DeleteSigningKey(ctx(t), k.TenantID, newID()), errs.NotFound)
		wantKind(t, s.DeleteSigningKey(ctx(t), newID(), k.ID), errs.NotFound)
	}},
}

var otherOK = []Case{
	{"ok/tenant-round-trip", func(t *testing.T, s store.Store) {
		a, b := newTenant(), newTenant()
		a.Created = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // before b's, which the store stamps now
		must(t, s.CreateTenant(ctx(t), a))
		must(t, s.CreateTenant(ctx(t), b))
		got, err := s.GetTenant(ctx(t), a.ID)
		must(t, err)
		if got.DefaultDomain != a.DefaultDomain || got.SigningAlg != a.SigningAlg || !got.Created.Equal(a.Created) {
			t.Fatalf("got %+v, want %+v", got, a)
		}
		list, err := s.ListTenants(ctx(t))
		must(t, err)
		if len(list) != 2 || list[0].ID != a.ID || list[1].Created.IsZero() {
			t.Fatalf("list: %+v", list)
		}
	}},
	{"ok/subscription-round-trip", func(t *testing.T, s store.Store) {
		tid := newID()
		for i := range 2 {
			must(t, s.CreateSubscription(ctx(t), resource.Subscription{ID: newID(), TenantID: tid,
				DisplayName: "sub", State: "Enabled", Created: t0.Add(time.Duration(i) * time.Second)}))
		}
		must(t, s.CreateSubscription(ctx(t), resource.Subscription{ID: newID(), TenantID: newID(), State: "Enabled"}))
		list, err := s.ListSubscriptions(ctx(t), tid)
		must(t, err)
		if len(list) != 2 || !list[0].Created.Before(list[1].Created) || list[0].State != "Enabled" {
			t.Fatalf("list: %+v", list)
		}
	}},
	{"ok/signing-keys", func(t *testing.T, s store.Store) {
		tid := newID()
		k2, k1 := newKey(tid, 2), newKey(tid, 1)
		must(t, s.AddSigningKey(ctx(t), k2))
		must(t, s.AddSigningKey(ctx(t), k1))
		must(t, s.AddSigningKey(ctx(t), newKey(newID(), 1))) // generations are per tenant
		list, err := s.ListSigningKeys(ctx(t), tid)
		must(t, err)
		if len(list) != 2 || list[0].ID != k1.ID || list[1].ID != k2.ID {
			t.Fatalf("list: %+v, want generation order", list)
		}
		if !bytes.Equal(list[1].PrivateKey, k2.PrivateKey) || !list[1].VerifyUntil.Equal(k2.VerifyUntil) {
			t.Fatalf("key did not round-trip: %+v", list[1])
		}
		must(t, s.DeleteSigningKey(ctx(t), tid, k1.ID))
		list, err = s.ListSigningKeys(ctx(t), tid)
		must(t, err)
		if len(list) != 1 || list[0].ID != k2.ID {
			t.Fatalf("after delete: %+v", list)
		}
	}},
}
