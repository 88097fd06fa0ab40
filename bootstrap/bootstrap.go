package bootstrap

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

// Options describe the first tenant and where its credentials go.
type Options struct {
	Dir        string // data directory; bootstrap.json is written here
	URL        string // public base URL, recorded for clients
	Domain     string // the tenant's default domain, e.g. contoso.test
	SigningAlg string // ES256 or RS256
	CAFile     string // the CA clients must trust; "" when the server uses an operator's certificate
	// TenantID is the id of a tenant this call creates; empty derives one from Domain (see
	// DefaultTenantID) so that replicas racing on one database pick the same id.
	TenantID string
	Now      func() time.Time // default time.Now
}

// Result is the home tenant and, when this call created it, what it made.
type Result struct {
	Tenant directory.Tenant
	// Created is true only for the one caller that created the tenant; File and
	// SubscriptionID are set only then.
	Created        bool
	File           string
	SubscriptionID string
	OwnerAppID     string
	AdminUPN       string
}

// tenantNamespace scopes the name-based tenant ids of DefaultTenantID to Latch.
var tenantNamespace = uuid.MustParse("5f0b8a1e-6c1d-4b7e-9a43-1d7c2e0f8b52")

// DefaultTenantID is the tenant id a first start uses for domain: a name-based (version 5)
// GUID, the same on every replica, so that the store's unique tenant id lets exactly one of
// several replicas starting together create the tenant. Tenant ids are public (discovery
// documents show them), so being derivable costs nothing.
func DefaultTenantID(domain string) string {
	return uuid.NewSHA1(tenantNamespace, []byte("tenant:"+strings.ToLower(domain))).String()
}

// Run makes sure the store has a home tenant and returns it. On a store without tenants it
// creates the tenant and its first objects and writes Dir/bootstrap.json; otherwise it changes
// nothing. When another replica creates the tenant first, Run returns that tenant with
// Created false.
//
// Errors: Invalid for a domain or signing algorithm the tenant cannot have; Unavailable and
// Internal from the store, the token service or the file system. A failure after the tenant
// was created says so, because the next start would find that tenant half made.
func Run(ctx context.Context, st store.Store, tokens *token.Service, opts Options) (Result, error) {
	const op = "bootstrap.Run"
	opts = opts.withDefaults()
	if t, ok, err := HomeTenant(ctx, st); err != nil || ok {
		return Result{Tenant: t}, err
	}
	if err := opts.validate(); err != nil {
		return Result{}, errs.E(op, errs.Invalid, err)
	}
	tenant := directory.Tenant{ID: opts.TenantID, DisplayName: "Latch", DefaultDomain: opts.Domain,
		SigningAlg: opts.SigningAlg, Created: opts.Now().UTC()}
	err := st.CreateTenant(ctx, tenant)
	if errs.Is(err, errs.Exists) {
		t, err := st.GetTenant(ctx, tenant.ID) // another replica won the race
		return Result{Tenant: t}, err
	}
	if err != nil {
		return Result{}, errs.E(op, errs.Internal, err)
	}
	res, err := populate(ctx, st, tokens, tenant, opts)
	if err != nil {
		return Result{}, errs.E(op, errs.KindOf(err), "The first start created tenant "+tenant.ID+
			" but could not finish setting it up; remove the database and start again.", err)
	}
	return res, nil
}

// HomeTenant returns the tenant a server serves by default: the oldest one (ties broken by
// id, so every replica agrees). ok is false when the store has no tenant yet.
func HomeTenant(ctx context.Context, st store.Store) (t directory.Tenant, ok bool, err error) {
	tenants, err := st.ListTenants(ctx)
	if err != nil || len(tenants) == 0 {
		return directory.Tenant{}, false, err
	}
	sort.Slice(tenants, func(i, j int) bool {
		a, b := tenants[i], tenants[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	})
	return tenants[0], true, nil
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Domain = strings.ToLower(strings.TrimSpace(o.Domain))
	if o.SigningAlg == "" {
		o.SigningAlg = "ES256"
	}
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID(o.Domain)
	}
	return o
}

func (o Options) validate() error {
	if err := directory.ValidateDomain(o.Domain); err != nil {
		return err
	}
	if o.SigningAlg != "ES256" && o.SigningAlg != "RS256" {
		return errs.Errorf("bootstrap", errs.Invalid, "Signing algorithm %q is not supported: use ES256 or RS256.", o.SigningAlg)
	}
	if !directory.IsGUID(o.TenantID) {
		return errs.Errorf("bootstrap", errs.Invalid, "Tenant id %q is not a GUID.", o.TenantID)
	}
	if o.Dir == "" {
		return errs.E("bootstrap", errs.Invalid, "A data directory is required to write bootstrap.json.")
	}
	return nil
}
