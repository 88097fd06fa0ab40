package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

var machineFailures = []Case{
	{"fail/onboarding-token-unknown", func(t *testing.T, s store.Store) {
		_, err := s.RedeemOnboardingToken(ctx(t), newID(), newID(), t0)
		wantGrantError(t, err, errs.NotFound)
	}},
	{"fail/onboarding-token-reused", func(t *testing.T, s store.Store) {
		tok := newOnboardingToken(t0.Add(time.Hour))
		must(t, s.CreateOnboardingToken(ctx(t), tok))
		_, err := s.RedeemOnboardingToken(ctx(t), tok.TenantID, tok.Hash, t0)
		must(t, err)
		_, err = s.RedeemOnboardingToken(ctx(t), tok.TenantID, tok.Hash, t0)
		wantGrantError(t, err, errs.Conflict)
	}},
	{"fail/onboarding-token-expired", func(t *testing.T, s store.Store) {
		tok := newOnboardingToken(t0)
		must(t, s.CreateOnboardingToken(ctx(t), tok))
		_, err := s.RedeemOnboardingToken(ctx(t), tok.TenantID, tok.Hash, t0)
		wantGrantError(t, err, errs.Expired)
	}},
	{"fail/onboarding-token-other-tenant", func(t *testing.T, s store.Store) {
		tok := newOnboardingToken(t0.Add(time.Hour))
		must(t, s.CreateOnboardingToken(ctx(t), tok))
		_, err := s.RedeemOnboardingToken(ctx(t), newID(), tok.Hash, t0)
		wantGrantError(t, err, errs.NotFound)
	}},
	{"fail/onboarding-token-duplicate", func(t *testing.T, s store.Store) {
		tok := newOnboardingToken(t0.Add(time.Hour))
		must(t, s.CreateOnboardingToken(ctx(t), tok))
		wantKind(t, s.CreateOnboardingToken(ctx(t), tok), errs.Exists)
	}},
	{"fail/machine-duplicate-id", func(t *testing.T, s store.Store) {
		m := newMachine(newID(), "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1")
		must(t, s.CreateMachine(ctx(t), m))
		wantKind(t, s.CreateMachine(ctx(t), m), errs.Exists)
	}},
	{"fail/machine-without-key", func(t *testing.T, s store.Store) {
		m := newMachine(newID(), "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1")
		m.PublicKey = nil
		wantKind(t, s.CreateMachine(ctx(t), m), errs.Invalid)
	}},
	{"fail/machine-unknown", func(t *testing.T, s store.Store) {
		_, err := s.GetMachine(ctx(t), newID(), newID())
		wantKind(t, err, errs.NotFound)
	}},
}

var machineOK = []Case{
	{"ok/onboarding-token-redeem", func(t *testing.T, s store.Store) {
		tok := newOnboardingToken(t0.Add(time.Hour))
		must(t, s.CreateOnboardingToken(ctx(t), tok))
		got, err := s.RedeemOnboardingToken(ctx(t), tok.TenantID, tok.Hash, t0)
		must(t, err)
		if !got.Used || !got.UsedAt.Equal(t0) || got.ResourceID != tok.ResourceID || got.CreatedBy != tok.CreatedBy {
			t.Fatalf("redeemed %+v, want it used at %v for %s", got, t0, tok.ResourceID)
		}
	}},
	{"ok/machine-round-trip", func(t *testing.T, s store.Store) {
		tid := newID()
		vm := "/subscriptions/x/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1"
		m := newMachine(tid, vm)
		must(t, s.CreateMachine(ctx(t), m))
		must(t, s.CreateMachine(ctx(t), newMachine(tid, vm+"other")))
		up, err := s.UpdateMachine(ctx(t), tid, m.ID, func(m store.Machine) (store.Machine, error) {
			m.Status.Hostname, m.LastSeen = "vm1", t0
			return m, nil
		})
		must(t, err)
		got, err := s.GetMachine(ctx(t), tid, m.ID)
		must(t, err)
		if got.Status.Hostname != "vm1" || !got.LastSeen.Equal(t0) || got.Version != 2 || up.Version != 2 || string(got.PublicKey) != string(m.PublicKey) {
			t.Fatalf("got %+v after update", got)
		}
		list, err := s.ListMachines(ctx(t), tid, strings.ToLower(vm))
		must(t, err)
		if len(list) != 1 || list[0].ID != m.ID {
			t.Fatalf("ListMachines = %+v, want only %s", list, m.ID)
		}
	}},
}

var machineConcurrency = []Case{
	{"race/onboarding-token-redeem", func(t *testing.T, s store.Store) {
		tok := newOnboardingToken(t0.Add(time.Hour))
		must(t, s.CreateOnboardingToken(ctx(t), tok))
		got := tally(race(100, func(int) error {
			_, err := s.RedeemOnboardingToken(ctx(t), tok.TenantID, tok.Hash, t0)
			return err
		}))
		if got["ok"] != 1 || got[errs.Conflict.String()] != 99 {
			t.Fatalf("100 concurrent redemptions gave %v, want one ok and 99 Conflict", got)
		}
	}},
}

func newOnboardingToken(expires time.Time) store.OnboardingToken {
	return store.OnboardingToken{TenantID: newID(), Hash: newID(), CreatedBy: newID(), Expires: expires,
		ResourceID: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"}
}

func newMachine(tenantID, resourceID string) store.Machine {
	return store.Machine{TenantID: tenantID, ID: newID(), ResourceID: resourceID, PublicKey: []byte("pkix-" + newID())}
}
