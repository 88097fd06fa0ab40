package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// Onboarding tokens are documents keyed by their hash, so redeeming one is the docs table's
// compare-and-swap: of concurrent redeemers exactly one moves it to used.
var onboardingTokens = docKind[store.OnboardingToken]{
	name: "onboardingToken", what: "onboarding token",
	ids: func(t *store.OnboardingToken) (*string, *string) { return &t.TenantID, &t.Hash },
	key: func(store.OnboardingToken) string { return "" },
	ref: func(t store.OnboardingToken) string { return strings.ToLower(t.ResourceID) },
	stamp: func(t *store.OnboardingToken, v int64, c time.Time) {
		t.Version, t.Created = v, c
	},
	exists: func(store.OnboardingToken) string { return "This onboarding token exists already." },
}

var machines = docKind[store.Machine]{
	name: "machine", what: "machine",
	ids: func(m *store.Machine) (*string, *string) { return &m.TenantID, &m.ID },
	key: func(store.Machine) string { return "" },
	ref: func(m store.Machine) string { return strings.ToLower(m.ResourceID) },
	stamp: func(m *store.Machine, v int64, c time.Time) {
		m.Version, m.Created = v, c
	},
	exists: func(m store.Machine) string { return "A machine with id " + m.ID + " already exists." },
}

// CreateOnboardingToken stores t unused; Exists when the hash is taken.
func (s *Store) CreateOnboardingToken(ctx context.Context, t store.OnboardingToken) error {
	const op = "store.CreateOnboardingToken"
	if t.Hash == "" || t.TenantID == "" {
		return errs.E(op, errs.Invalid, "An onboarding token needs a tenant and a hash.")
	}
	t.Used, t.UsedAt = false, time.Time{}
	return onboardingTokens.create(ctx, s, op, t)
}

// RedeemOnboardingToken marks the token used, once; see store.MachineStore.
func (s *Store) RedeemOnboardingToken(ctx context.Context, tenantID, hash string, now time.Time) (store.OnboardingToken, error) {
	const op = "store.RedeemOnboardingToken"
	t, err := onboardingTokens.update(ctx, s, op, tenantID, hash, func(t store.OnboardingToken) (store.OnboardingToken, error) {
		switch {
		case t.Used:
			return t, errs.E(op, errs.Conflict, invalidGrant, "The onboarding token was used already; ask for a new one.")
		case !now.Before(t.Expires):
			return t, errs.E(op, errs.Expired, invalidGrant, "The onboarding token has expired; ask for a new one.")
		}
		t.Used, t.UsedAt = true, now.UTC()
		return t, nil
	})
	if errs.Is(err, errs.NotFound) {
		return t, errs.E(op, errs.NotFound, invalidGrant, "The onboarding token is not known.")
	}
	return t, err
}

// CreateMachine stores m with Version 1 and Created now; Exists when the id is taken.
func (s *Store) CreateMachine(ctx context.Context, m store.Machine) error {
	const op = "store.CreateMachine"
	if m.ID == "" || m.TenantID == "" || m.ResourceID == "" || len(m.PublicKey) == 0 {
		return errs.E(op, errs.Invalid, "A machine needs an id, a tenant, a resource id and a public key.")
	}
	return machines.create(ctx, s, op, m)
}

// GetMachine gives NotFound when the tenant has no such machine.
func (s *Store) GetMachine(ctx context.Context, tenantID, id string) (store.Machine, error) {
	return machines.get(ctx, s, "store.GetMachine", tenantID, id)
}

// ListMachines returns the machines onboarded as one VM, oldest first.
func (s *Store) ListMachines(ctx context.Context, tenantID, resourceID string) ([]store.Machine, error) {
	if resourceID == "" {
		return []store.Machine{}, nil
	}
	return machines.list(ctx, s, "store.ListMachines", tenantID, strings.ToLower(resourceID))
}

// UpdateMachine is compare-and-swap; fn cannot change the id or tenant.
func (s *Store) UpdateMachine(ctx context.Context, tenantID, id string, fn func(store.Machine) (store.Machine, error)) (store.Machine, error) {
	return machines.update(ctx, s, "store.UpdateMachine", tenantID, id, fn)
}
