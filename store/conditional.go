package store

import (
	"context"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/signinlog"
)

// MaxSignInList caps the entries one ListSignIns call returns, whatever limit asks.
const MaxSignInList = 1000

// ConditionalStore keeps each tenant's Conditional Access configuration and its sign-in log.
// Policies, named locations and custom authentication strengths are kept as their canonical
// Graph JSON; the caller parses and validates them before they arrive here. Same error rules
// as Store; Create fails with Invalid when the id is empty and Exists when it is taken.
//
// Update methods are compare-and-swap, as in Store, and keep the object's id whatever fn
// returns. Built-in authentication strengths are never stored: they are conditional's.
type ConditionalStore interface {
	CreateConditionalAccessPolicy(ctx context.Context, tenantID string, p conditional.Policy) error
	GetConditionalAccessPolicy(ctx context.Context, tenantID, id string) (conditional.Policy, error)
	// ListConditionalAccessPolicies returns the tenant's policies, oldest first.
	ListConditionalAccessPolicies(ctx context.Context, tenantID string) ([]conditional.Policy, error)
	UpdateConditionalAccessPolicy(ctx context.Context, tenantID, id string, fn func(conditional.Policy) (conditional.Policy, error)) (conditional.Policy, error)
	DeleteConditionalAccessPolicy(ctx context.Context, tenantID, id string) error

	CreateNamedLocation(ctx context.Context, tenantID string, l conditional.NamedLocation) error
	GetNamedLocation(ctx context.Context, tenantID, id string) (conditional.NamedLocation, error)
	// ListNamedLocations returns the tenant's named locations, oldest first.
	ListNamedLocations(ctx context.Context, tenantID string) ([]conditional.NamedLocation, error)
	UpdateNamedLocation(ctx context.Context, tenantID, id string, fn func(conditional.NamedLocation) (conditional.NamedLocation, error)) (conditional.NamedLocation, error)
	// DeleteNamedLocation fails with Conflict while a policy includes or excludes the location.
	DeleteNamedLocation(ctx context.Context, tenantID, id string) error

	CreateAuthenticationStrength(ctx context.Context, tenantID string, s conditional.Strength) error
	GetAuthenticationStrength(ctx context.Context, tenantID, id string) (conditional.Strength, error)
	// ListAuthenticationStrengths returns the tenant's custom strengths, oldest first.
	ListAuthenticationStrengths(ctx context.Context, tenantID string) ([]conditional.Strength, error)
	UpdateAuthenticationStrength(ctx context.Context, tenantID, id string, fn func(conditional.Strength) (conditional.Strength, error)) (conditional.Strength, error)
	// DeleteAuthenticationStrength fails with Conflict while a policy's grant controls name it.
	DeleteAuthenticationStrength(ctx context.Context, tenantID, id string) error

	// AppendSignIn adds e to the tenant's sign-in log. Invalid when e has no id or no
	// CreatedDateTime; Exists when the id is taken.
	AppendSignIn(ctx context.Context, tenantID string, e signinlog.Entry) error
	// ListSignIns returns up to limit entries that pass f, newest (CreatedDateTime) first;
	// limit <= 0 or above MaxSignInList means MaxSignInList.
	ListSignIns(ctx context.Context, tenantID string, f signinlog.Filter, limit int) ([]signinlog.Entry, error)
	// ListSignInSummaries is ListSignIns with only each entry's ID, CreatedDateTime,
	// UserPrincipalName, UserID, AppID, IPAddress and Status filled: what sign-in risk reads
	// on every sign-in, without decoding the rest.
	ListSignInSummaries(ctx context.Context, tenantID string, f signinlog.Filter, limit int) ([]signinlog.Entry, error)
	// DeleteSignInsBefore removes the tenant's entries whose CreatedDateTime is before
	// before, for retention, and says how many went.
	DeleteSignInsBefore(ctx context.Context, tenantID string, before time.Time) (int64, error)
}
