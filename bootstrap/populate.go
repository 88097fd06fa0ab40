package bootstrap

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

// Names and lifetimes of what a first start creates.
const (
	SubscriptionName   = "Latch subscription"
	OwnerName          = "Latch owner"
	AdminName          = "Latch Administrator"
	AdminLocalPart     = "admin"
	OwnerSecretLife    = 365 * 24 * time.Hour
	AdminPassLife      = 24 * time.Hour
	cliRedirectURI     = "http://localhost" // the token service accepts any loopback port
	ownerSecretName    = "bootstrap"
	globalAdminScopeID = "/"
)

// creds are the secrets a first start hands to the operator, and where they belong.
type creds struct {
	subscriptionID string
	ownerAppID     string
	ownerSecret    string
	ownerExpires   time.Time
	adminUPN       string
	adminPass      string
	adminExpires   time.Time
}

// populate creates everything a new tenant starts with and writes bootstrap.json.
func populate(ctx context.Context, st store.Store, tokens *token.Service, t directory.Tenant, o Options) (Result, error) {
	now := o.Now().UTC()
	var c creds
	var err error
	if c.subscriptionID, err = createSubscription(ctx, st, t, now); err != nil {
		return Result{}, err
	}
	if err = createWellKnownApps(ctx, st, t, now); err != nil {
		return Result{}, err
	}
	if c.ownerAppID, c.ownerSecret, c.ownerExpires, err = createOwner(ctx, st, t, now); err != nil {
		return Result{}, err
	}
	if c.adminUPN, c.adminPass, c.adminExpires, err = createAdmin(ctx, st, t, now); err != nil {
		return Result{}, err
	}
	if err = createRootGroup(ctx, st, t, c, now); err != nil {
		return Result{}, err
	}
	if err = tokens.Rotate(ctx, t.ID); err != nil {
		return Result{}, err
	}
	file, err := writeFile(o.Dir, newFileContents(t, o, c))
	if err != nil {
		return Result{}, err
	}
	return Result{Tenant: t, Created: true, File: file, SubscriptionID: c.subscriptionID,
		OwnerAppID: c.ownerAppID, AdminUPN: c.adminUPN}, nil
}

func createSubscription(ctx context.Context, st store.Store, t directory.Tenant, now time.Time) (string, error) {
	s := resource.Subscription{ID: uuid.NewString(), TenantID: t.ID, DisplayName: SubscriptionName,
		State: "Enabled", Created: now}
	return s.ID, st.CreateSubscription(ctx, s)
}

// createWellKnownApps gives the tenant the sign-in applications Conditional Access targets and
// the CLI's public client. An application that exists already is left as it is.
func createWellKnownApps(ctx context.Context, st store.Store, t directory.Tenant, now time.Time) error {
	for _, app := range directory.WellKnownApps {
		sp := newApplication(t, app.AppID, app.DisplayName, now)
		if app.AppID == directory.AzureCLIAppID {
			sp.PublicClient = true
			sp.RedirectURIs = []string{cliRedirectURI}
		}
		if err := st.CreateServicePrincipal(ctx, sp); err != nil && !errs.Is(err, errs.Exists) {
			return err
		}
	}
	return nil
}

func newApplication(t directory.Tenant, appID, name string, now time.Time) directory.ServicePrincipal {
	return directory.ServicePrincipal{
		ID: uuid.NewString(), TenantID: t.ID, AppID: appID, DisplayName: name,
		Type: directory.SPApplication, AccountEnabled: true,
		ServicePrincipalNames: []string{appID}, Created: now,
	}
}

// createOwner makes the service principal that automation and the first CLI sign-in use, with
// a client secret, and makes it Global Administrator.
func createOwner(ctx context.Context, st store.Store, t directory.Tenant, now time.Time) (appID, secret string, expires time.Time, err error) {
	secret, cred, err := authn.NewClientSecret(now, OwnerSecretLife, ownerSecretName)
	if err != nil {
		return "", "", time.Time{}, err
	}
	sp := newApplication(t, uuid.NewString(), OwnerName, now)
	sp.PasswordCredentials = []directory.PasswordCredential{cred}
	if err := st.CreateServicePrincipal(ctx, sp); err != nil {
		return "", "", time.Time{}, err
	}
	return sp.AppID, secret, cred.End, assignGlobalAdmin(ctx, st, t, sp.ID)
}

// createAdmin makes the first person: passwordless from the start, signing in once with a
// Temporary Access Pass to register a passkey, and Global Administrator.
func createAdmin(ctx context.Context, st store.Store, t directory.Tenant, now time.Time) (upn, pass string, expires time.Time, err error) {
	u := directory.User{ID: uuid.NewString(), TenantID: t.ID, UserPrincipalName: AdminLocalPart + "@" + t.DefaultDomain,
		DisplayName: AdminName, AccountEnabled: true, Created: now}
	if err := st.CreateUser(ctx, u); err != nil {
		return "", "", time.Time{}, err
	}
	pass, tap, err := authn.NewTemporaryAccessPass(t.ID, u.ID, AdminPassLife, true, now)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if err := st.CreateTemporaryAccessPass(ctx, tap); err != nil {
		return "", "", time.Time{}, err
	}
	return u.UserPrincipalName, pass, tap.End, assignGlobalAdmin(ctx, st, t, u.ID)
}

func assignGlobalAdmin(ctx context.Context, st store.Store, t directory.Tenant, principalID string) error {
	err := st.CreateDirectoryRoleAssignment(ctx, directory.RoleAssignment{
		ID: uuid.NewString(), TenantID: t.ID, PrincipalID: principalID,
		RoleDefinitionID: directory.GlobalAdministrator.TemplateID, DirectoryScopeID: globalAdminScopeID,
	})
	if errs.Is(err, errs.Exists) {
		return nil
	}
	return err
}

// createRootGroup makes the tenant's root management group (named after the tenant id, as in
// Azure) and makes the owner service principal and the first administrator Owners of it, so
// that a fresh install can manage its resources and grant access from the start. Azure
// decides the resource manager by role assignments, not by directory roles, so Global
// Administrator alone would leave them unable to do anything there.
func createRootGroup(ctx context.Context, st store.Store, t directory.Tenant, c creds, now time.Time) error {
	root := resource.NewRootGroup(t.ID, now)
	if err := st.CreateManagementGroup(ctx, root); err != nil && !errs.Is(err, errs.Exists) {
		return err
	}
	owner, err := st.GetServicePrincipalByAppID(ctx, t.ID, c.ownerAppID)
	if err != nil {
		return err
	}
	admin, err := st.GetUserByUPN(ctx, t.ID, c.adminUPN)
	if err != nil {
		return err
	}
	for _, p := range []struct{ id, typ string }{{owner.ID, access.PrincipalServicePrincipal}, {admin.ID, access.PrincipalUser}} {
		if err := assignOwner(ctx, st, t, root, p.id, p.typ, now); err != nil {
			return err
		}
	}
	return nil
}

func assignOwner(ctx context.Context, st store.Store, t directory.Tenant, root resource.ManagementGroup, principalID, principalType string, now time.Time) error {
	a := access.RoleAssignment{ID: uuid.NewString(), Scope: root.ARMID(), RoleDefinitionID: access.OwnerRoleID,
		PrincipalID: principalID, PrincipalType: principalType, CreatedOn: now, UpdatedOn: now}
	owner, _ := access.BuiltInRole(access.OwnerRoleID)
	if err := access.ValidateAssignment(a, owner, nil, access.CurrentAPIVersion); err != nil {
		return err
	}
	err := st.CreateRoleAssignment(ctx, resource.RoleAssignment{TenantID: t.ID, Assignment: a})
	if errs.Is(err, errs.Exists) {
		return nil
	}
	return err
}
