package store

import (
	"context"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/token"
)

// Store is the control plane's state. Every method is safe for concurrent use from many
// goroutines and many processes sharing the database.
//
// Errors are *errs.Error with these kinds: NotFound when the thing does not exist, Exists when a
// create collides with a unique key (ids; UPN per tenant, case-insensitive; appId per tenant;
// a group's mailNickname per tenant), Conflict when a single-use thing was used already,
// Expired when it outlived its lifetime, Unavailable when the database cannot be reached.
//
// Update methods are compare-and-swap: fn gets the current value and returns the new one;
// if another writer changed the row in between, fn runs again on the newer value. An error
// from fn aborts the update and is returned unchanged. Update cannot change ids or TenantID.
type Store interface {
	Close() error

	// Resources and access control (see resource.go).
	ResourceStore
	AuthMethodStore  // passkeys, TOTP, WebAuthn challenges, attempt counters, sessions (authmethods.go)
	MachineStore     // onboarded machines and their onboarding tokens (machine.go)
	SSHCAStore       // each tenant's SSH user certificate authority (sshca.go)
	DeviceStore      // the directory's devices and each tenant's device CA (device.go)
	ConditionalStore // Conditional Access policies, named locations, strengths, sign-in log (conditional.go)
	HostStore        // each person's remembered hosts (hosts.go)
	PurgeStore       // removing expired sessions and abandoned challenges (purge.go)

	// Tenants and subscriptions.
	CreateTenant(ctx context.Context, t directory.Tenant) error
	GetTenant(ctx context.Context, id string) (directory.Tenant, error)
	ListTenants(ctx context.Context) ([]directory.Tenant, error)
	CreateSubscription(ctx context.Context, s resource.Subscription) error
	ListSubscriptions(ctx context.Context, tenantID string) ([]resource.Subscription, error)

	// Users. Created/Version are set by the store.
	CreateUser(ctx context.Context, u directory.User) error
	GetUser(ctx context.Context, tenantID, id string) (directory.User, error)
	GetUserByUPN(ctx context.Context, tenantID, upn string) (directory.User, error)
	ListUsers(ctx context.Context, tenantID string) ([]directory.User, error)
	UpdateUser(ctx context.Context, tenantID, id string, fn func(directory.User) (directory.User, error)) (directory.User, error)
	DeleteUser(ctx context.Context, tenantID, id string) error

	// Groups. Deleting a user, group or service principal also removes it from every group.
	CreateGroup(ctx context.Context, g directory.Group) error
	GetGroup(ctx context.Context, tenantID, id string) (directory.Group, error)
	ListGroups(ctx context.Context, tenantID string) ([]directory.Group, error)
	UpdateGroup(ctx context.Context, tenantID, id string, fn func(directory.Group) (directory.Group, error)) (directory.Group, error)
	DeleteGroup(ctx context.Context, tenantID, id string) error

	// Service principals (applications and managed identities).
	CreateServicePrincipal(ctx context.Context, sp directory.ServicePrincipal) error
	GetServicePrincipal(ctx context.Context, tenantID, id string) (directory.ServicePrincipal, error)
	GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (directory.ServicePrincipal, error)
	ListServicePrincipals(ctx context.Context, tenantID string) ([]directory.ServicePrincipal, error)
	UpdateServicePrincipal(ctx context.Context, tenantID, id string, fn func(directory.ServicePrincipal) (directory.ServicePrincipal, error)) (directory.ServicePrincipal, error)
	DeleteServicePrincipal(ctx context.Context, tenantID, id string) error

	// Directory role assignments. Exists when the same (principal, role, scope) is assigned.
	CreateDirectoryRoleAssignment(ctx context.Context, a directory.RoleAssignment) error
	ListDirectoryRoleAssignments(ctx context.Context, tenantID string) ([]directory.RoleAssignment, error)
	DeleteDirectoryRoleAssignment(ctx context.Context, tenantID, id string) error

	// Temporary Access Passes.
	CreateTemporaryAccessPass(ctx context.Context, p authn.TemporaryAccessPass) error
	ListTemporaryAccessPasses(ctx context.Context, tenantID, userID string) ([]authn.TemporaryAccessPass, error)
	UpdateTemporaryAccessPass(ctx context.Context, tenantID, id string, fn func(authn.TemporaryAccessPass) (authn.TemporaryAccessPass, error)) (authn.TemporaryAccessPass, error)
	DeleteTemporaryAccessPass(ctx context.Context, tenantID, id string) error

	// Authorization codes. RedeemAuthCode marks the code used and returns it, exactly once
	// across all callers; a later redemption revokes the code's refresh-token family and fails
	// with Conflict (code "invalid_grant"). Expired when past Expires; NotFound when unknown.
	CreateAuthCode(ctx context.Context, c token.AuthCode) error
	RedeemAuthCode(ctx context.Context, hash string, now time.Time) (token.AuthCode, error)

	// Device codes. UpdateDeviceCode is compare-and-swap on Version, so of many concurrent
	// pollers exactly one can move an approved code to redeemed.
	CreateDeviceCode(ctx context.Context, d token.DeviceCode) error
	GetDeviceCodeByUserCode(ctx context.Context, userCode string) (token.DeviceCode, error)
	UpdateDeviceCode(ctx context.Context, hash string, fn func(token.DeviceCode) (token.DeviceCode, error)) (token.DeviceCode, error)

	// Refresh tokens. RotateRefreshToken atomically retires the active token oldHash and stores
	// next (same family) in its place, returning the old one. Presenting a token that was
	// rotated already is reuse: the whole family is revoked and Conflict returned. A revoked
	// token gives Unauthenticated, an expired one Expired.
	CreateRefreshToken(ctx context.Context, t token.RefreshToken) error
	RotateRefreshToken(ctx context.Context, oldHash string, next token.RefreshToken, now time.Time) (token.RefreshToken, error)
	GetRefreshToken(ctx context.Context, hash string) (token.RefreshToken, error)
	RevokeRefreshFamily(ctx context.Context, familyID string) error

	// UseJTI records a client-assertion id (key is issuer + "|" + jti) until expires; a key
	// already recorded and unexpired gives Exists. Expired entries may be purged.
	UseJTI(ctx context.Context, key string, expires, now time.Time) error

	// Signing keys. AddSigningKey gives Exists when (TenantID, Generation) is taken.
	AddSigningKey(ctx context.Context, k token.SigningKey) error
	ListSigningKeys(ctx context.Context, tenantID string) ([]token.SigningKey, error)
	DeleteSigningKey(ctx context.Context, tenantID, kid string) error
}
