package bootstrap

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/token"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTokens(st store.Store) *token.Service {
	return token.NewService(st, token.Config{Now: func() time.Time { return t0 }})
}

func options(dir string) Options {
	return Options{Dir: dir, URL: "https://localhost:8443", Domain: "contoso.test", SigningAlg: "ES256",
		CAFile: filepath.Join(dir, "tls", "ca.pem"), Now: func() time.Time { return t0 }}
}

// firstStart runs Run on a fresh database and returns the store, result and written file.
func firstStart(t *testing.T) (store.Store, Result, File) {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "latch.db"))
	dir := t.TempDir()
	res, err := Run(context.Background(), st, newTokens(st), options(dir))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st, res, f
}

func TestFirstStartCreatesTenant(t *testing.T) {
	st, res, f := firstStart(t)
	ctx := context.Background()
	if !res.Created || res.Tenant.ID != DefaultTenantID("contoso.test") || res.Tenant.SigningAlg != "ES256" {
		t.Fatalf("Run() = %+v", res)
	}
	if fi, err := os.Stat(res.File); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap.json mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if f.TenantID != res.Tenant.ID || f.URL != "https://localhost:8443" || f.CAFile == "" ||
		f.Admin.UserPrincipalName != "admin@contoso.test" {
		t.Fatalf("bootstrap.json = %+v", f)
	}
	subs, err := st.ListSubscriptions(ctx, res.Tenant.ID)
	if err != nil || len(subs) != 1 || subs[0].ID != f.SubscriptionID || subs[0].State != "Enabled" ||
		subs[0].DisplayName != SubscriptionName {
		t.Fatalf("subscriptions = %+v, %v", subs, err)
	}
	keys, err := st.ListSigningKeys(ctx, res.Tenant.ID)
	if err != nil || len(keys) == 0 {
		t.Fatalf("signing keys = %d, %v; want the first key", len(keys), err)
	}
}

func TestFirstStartApplications(t *testing.T) {
	st, res, _ := firstStart(t)
	ctx := context.Background()
	for _, app := range directory.WellKnownApps {
		sp, err := st.GetServicePrincipalByAppID(ctx, res.Tenant.ID, app.AppID)
		if err != nil || sp.DisplayName != app.DisplayName || !sp.AccountEnabled {
			t.Fatalf("%s: %+v, %v", app.DisplayName, sp, err)
		}
		isCLI := app.AppID == directory.AzureCLIAppID
		if sp.PublicClient != isCLI || isCLI && (len(sp.RedirectURIs) != 1 || sp.RedirectURIs[0] != "http://localhost") {
			t.Fatalf("%s: public %v, redirects %v", app.DisplayName, sp.PublicClient, sp.RedirectURIs)
		}
	}
}

func TestFirstStartCredentialsWork(t *testing.T) {
	st, res, f := firstStart(t)
	ctx := context.Background()
	owner, err := st.GetServicePrincipalByAppID(ctx, res.Tenant.ID, f.Owner.AppID)
	if err != nil || owner.DisplayName != OwnerName {
		t.Fatalf("owner: %+v, %v", owner, err)
	}
	verifier := authn.NewSecretVerifier(func() time.Time { return t0.Add(time.Hour) })
	if err := verifier.Verify(owner, f.Owner.Secret); err != nil {
		t.Fatalf("the owner secret in bootstrap.json does not verify: %v", err)
	}
	if err := verifier.Verify(owner, f.Owner.Secret+"x"); err == nil {
		t.Fatal("a wrong owner secret verified")
	}
	admin, err := st.GetUserByUPN(ctx, res.Tenant.ID, "admin@contoso.test")
	if err != nil || !admin.AccountEnabled || admin.Password.Hash != "" || admin.DisplayName != AdminName {
		t.Fatalf("admin: %+v, %v", admin, err)
	}
	taps, err := st.ListTemporaryAccessPasses(ctx, res.Tenant.ID, admin.ID)
	if err != nil || len(taps) != 1 || !taps[0].OneTime || taps[0].End.Sub(taps[0].Start) != AdminPassLife {
		t.Fatalf("passes: %+v, %v", taps, err)
	}
	if err := authn.CheckTemporaryAccessPass(taps[0], f.Admin.TemporaryAccessPass, t0.Add(time.Minute)); err != nil {
		t.Fatalf("the pass in bootstrap.json does not verify: %v", err)
	}
	if err := authn.CheckTemporaryAccessPass(taps[0], f.Admin.TemporaryAccessPass, t0.Add(25*time.Hour)); err == nil {
		t.Fatal("the pass verified after 25 hours")
	}
	assertGlobalAdmins(t, st, res.Tenant.ID, owner.ID, admin.ID)
}

func assertGlobalAdmins(t *testing.T, st store.Store, tenantID string, ids ...string) {
	t.Helper()
	as, err := st.ListDirectoryRoleAssignments(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !directory.Allowed(as, []string{id}, directory.Action("users", directory.ActionCreate)) {
			t.Errorf("%s is not Global Administrator: %+v", id, as)
		}
	}
	if len(as) != len(ids) {
		t.Errorf("%d role assignments, want %d", len(as), len(ids))
	}
}

func TestLaterStartChangesNothing(t *testing.T) {
	st, first, _ := firstStart(t)
	ctx := context.Background()
	linux, _ := st.GetServicePrincipalByAppID(ctx, first.Tenant.ID, directory.LinuxVMSignInAppID)
	if err := st.DeleteServicePrincipal(ctx, first.Tenant.ID, linux.ID); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := options(dir)
	opts.Domain = "fabrikam.test" // a changed flag must not make a second tenant
	res, err := Run(ctx, st, newTokens(st), opts)
	if err != nil || res.Created || res.Tenant.ID != first.Tenant.ID {
		t.Fatalf("second Run() = %+v, %v; want the first tenant, not created", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !os.IsNotExist(err) {
		t.Fatal("a later start wrote bootstrap.json")
	}
	if _, err := st.GetServicePrincipalByAppID(ctx, first.Tenant.ID, directory.LinuxVMSignInAppID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a deleted application was recreated (err %v)", err)
	}
	tenants, _ := st.ListTenants(ctx)
	users, _ := st.ListUsers(ctx, first.Tenant.ID)
	if len(tenants) != 1 || len(users) != 1 {
		t.Fatalf("%d tenants, %d users after a later start; want 1 and 1", len(tenants), len(users))
	}
}

// lockstepStore holds every replica after its first ListTenants until all have listed, so all
// of them see an empty store and race to create the tenant: the worst case of a joint start.
type lockstepStore struct {
	store.Store
	once    *sync.Once
	arrived *sync.WaitGroup
}

func (s lockstepStore) ListTenants(ctx context.Context) ([]directory.Tenant, error) {
	ts, err := s.Store.ListTenants(ctx)
	s.once.Do(func() { s.arrived.Done(); s.arrived.Wait() })
	return ts, err
}

func TestReplicasStartingTogether(t *testing.T) {
	db := filepath.Join(t.TempDir(), "latch.db")
	openStore(t, db) // create the schema once, as the first replica to start would
	const replicas = 4
	var arrived sync.WaitGroup
	arrived.Add(replicas)
	results := make([]Result, replicas)
	failures := make([]error, replicas)
	dirs := make([]string, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		dirs[i] = t.TempDir()
		st := lockstepStore{openStore(t, db), &sync.Once{}, &arrived}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], failures[i] = Run(context.Background(), st, newTokens(st), options(dirs[i]))
		}()
	}
	wg.Wait()
	created := 0
	for i := range replicas {
		if failures[i] != nil {
			t.Fatalf("replica %d: %v", i, failures[i])
		}
		if results[i].Tenant.ID != results[0].Tenant.ID {
			t.Fatalf("replicas disagree on the tenant: %s and %s", results[i].Tenant.ID, results[0].Tenant.ID)
		}
		_, statErr := os.Stat(filepath.Join(dirs[i], FileName))
		if results[i].Created {
			created++
		}
		if results[i].Created != (statErr == nil) {
			t.Fatalf("replica %d: created %v but bootstrap.json stat %v", i, results[i].Created, statErr)
		}
	}
	tenants, _ := openStore(t, db).ListTenants(context.Background())
	if created != 1 || len(tenants) != 1 {
		t.Fatalf("%d replicas created a tenant, %d tenants exist; want exactly 1 and 1", created, len(tenants))
	}
}

func TestRunRefusals(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options)
	}{
		{"fail/domain-single-label", func(o *Options) { o.Domain = "contoso" }},
		{"fail/domain-empty", func(o *Options) { o.Domain = "" }},
		{"fail/alg-hs256", func(o *Options) { o.SigningAlg = "HS256" }},
		{"fail/tenant-id-not-guid", func(o *Options) { o.TenantID = "contoso" }},
		{"fail/no-data-dir", func(o *Options) { o.Dir = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, filepath.Join(t.TempDir(), "latch.db"))
			opts := options(t.TempDir())
			tt.change(&opts)
			_, err := Run(context.Background(), st, newTokens(st), opts)
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Run() = %v, want Invalid", err)
			}
			if tenants, _ := st.ListTenants(context.Background()); len(tenants) != 0 {
				t.Fatal("a refused Run created a tenant")
			}
		})
	}
}

func TestHomeTenantIsTheOldest(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "latch.db"))
	ctx := context.Background()
	if _, ok, err := HomeTenant(ctx, st); ok || err != nil {
		t.Fatalf("HomeTenant on an empty store = %v, %v", ok, err)
	}
	newer := directory.Tenant{ID: "00000000-0000-4000-8000-000000000001", DefaultDomain: "a.test", SigningAlg: "ES256", Created: t0.Add(time.Hour)}
	older := directory.Tenant{ID: "ffffffff-0000-4000-8000-000000000002", DefaultDomain: "b.test", SigningAlg: "ES256", Created: t0}
	for _, tn := range []directory.Tenant{newer, older} {
		if err := st.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok, err := HomeTenant(ctx, st); !ok || err != nil || got.ID != older.ID {
		t.Fatalf("HomeTenant = %s, %v, %v; want %s", got.ID, ok, err, older.ID)
	}
}
