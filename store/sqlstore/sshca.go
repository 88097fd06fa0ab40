package sqlstore

import (
	"context"
	"time"

	"github.com/latchsh/latch/store"
)

// sshCAID is the one document id of a tenant's SSH authority: the docs table's primary key
// (kind, tenant, id) is what makes the authority unique per tenant, even across replicas.
const sshCAID = "user-ca"

var sshCAs = docKind[store.SSHCA]{
	name: "sshUserCA", what: "SSH certificate authority",
	ids: func(c *store.SSHCA) (*string, *string) {
		id := sshCAID
		return &c.TenantID, &id
	},
	key: func(store.SSHCA) string { return "" },
	ref: func(store.SSHCA) string { return "" },
	stamp: func(c *store.SSHCA, v int64, created time.Time) {
		c.Version, c.Created = v, created
	},
	exists: func(store.SSHCA) string { return "The tenant already has an SSH certificate authority." },
}

// CreateSSHCA stores ca with Version 1 and Created now; Exists when the tenant has one.
func (s *Store) CreateSSHCA(ctx context.Context, ca store.SSHCA) error {
	return sshCAs.create(ctx, s, "store.CreateSSHCA", ca)
}

// GetSSHCA returns the tenant's authority; NotFound when it has none.
func (s *Store) GetSSHCA(ctx context.Context, tenantID string) (store.SSHCA, error) {
	return sshCAs.get(ctx, s, "store.GetSSHCA", tenantID, sshCAID)
}
