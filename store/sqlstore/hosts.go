package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// hostsDoc is one person's remembered hosts as one document, id the lower-case user id: the
// list is small (at most 15) and always read and written whole, so one compare-and-swap row
// keeps the cap and the eviction exact under concurrent connections.
type hostsDoc struct {
	TenantID string                `json:"tenantId"`
	UserID   string                `json:"userId"`
	Hosts    store.RememberedHosts `json:"hosts"`
	Version  int64                 `json:"version"`
}

var hostLists = docKind[hostsDoc]{
	name: "rememberedHosts", what: "remembered host list",
	ids: func(d *hostsDoc) (*string, *string) { return &d.TenantID, &d.UserID },
	key: func(hostsDoc) string { return "" },
	ref: func(hostsDoc) string { return "" },
	stamp: func(d *hostsDoc, v int64, _ time.Time) {
		d.Version = v
	},
	exists: func(hostsDoc) string { return "The remembered host list exists already." },
}

// GetRememberedHosts returns the person's list as stored; empty when there is none.
func (s *Store) GetRememberedHosts(ctx context.Context, tenantID, userID string) (store.RememberedHosts, error) {
	const op = "store.GetRememberedHosts"
	d, err := hostLists.get(ctx, s, op, tenantID, strings.ToLower(userID))
	if errs.Is(err, errs.NotFound) {
		return store.RememberedHosts{}, nil
	}
	if err != nil {
		return nil, err
	}
	return nonNil(d.Hosts), nil
}

// UpdateRememberedHosts is compare-and-swap on the person's list, creating it when absent.
func (s *Store) UpdateRememberedHosts(ctx context.Context, tenantID, userID string, fn func(store.RememberedHosts) (store.RememberedHosts, error)) (store.RememberedHosts, error) {
	const op = "store.UpdateRememberedHosts"
	id := strings.ToLower(userID)
	capped := func(hs store.RememberedHosts) (store.RememberedHosts, error) {
		next, err := fn(nonNil(hs))
		if err != nil {
			return nil, err
		}
		if len(next) > store.MaxRememberedHosts {
			return nil, errs.Errorf(op, errs.Invalid, "A person can have at most %d remembered hosts.", store.MaxRememberedHosts)
		}
		return nonNil(next), nil
	}
	for range maxCASAttempts {
		d, err := hostLists.update(ctx, s, op, tenantID, id, func(d hostsDoc) (hostsDoc, error) {
			hs, err := capped(d.Hosts)
			d.Hosts = hs
			return d, err
		})
		if !errs.Is(err, errs.NotFound) {
			return d.Hosts, err
		}
		hs, err := capped(nil)
		if err != nil {
			return nil, err
		}
		err = hostLists.create(ctx, s, op, hostsDoc{TenantID: tenantID, UserID: id, Hosts: hs})
		if err == nil {
			return hs, nil
		}
		if !errs.Is(err, errs.Exists) { // Exists: another connection created it; update theirs
			return nil, err
		}
	}
	return nil, errs.E(op, errs.Conflict, "The remembered host list is changing too often; try again.")
}

func nonNil(hs store.RememberedHosts) store.RememberedHosts {
	if hs == nil {
		return store.RememberedHosts{}
	}
	return hs
}

var _ store.HostStore = (*Store)(nil)
