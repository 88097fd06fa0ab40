package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/testenv"
)

// A managed identity's token is logged as its service principal's sign-in, for the resource.
func TestManagedIdentitySignInLogged(t *testing.T) {
	f := newMachineFixture(t)
	k, id, tid := f.connect(t, f.withID)
	if st, m := f.machineDo(t, "POST", "/machines/token", k.proof(t, nil, f.claims(id, tid)), map[string]any{"resource": f.ARMAudience()}); st != 200 {
		t.Fatalf("token: %d %v", st, m)
	}
	if err := f.API.FlushSignIns(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := f.Store.ListSignIns(context.Background(), tid, signinlog.Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var found []signinlog.Entry
	for _, e := range all {
		if e.Latch.Flow == signinlog.FlowManagedIdentity {
			found = append(found, e)
		}
	}
	if len(found) != 1 || found[0].AppID == "" || found[0].ResourceID != f.ARMAudience() || found[0].UserID != "" ||
		found[0].Status.ErrorCode != 0 {
		t.Fatalf("managed identity entries %+v", found)
	}
}

// A wrong password on the sign-in page is logged with the message shown, under the user
// when the name is known and as typed when it is not.
func TestPageFailureLogged(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := newUser(t, srv, "wanda", webPassword)
	for _, upn := range []string{u.UserPrincipalName, "nobody@contoso.test"} {
		c := srv.Browser()
		if p := passwordSignIn(t, srv, c, upn, "not the password at all"); p.Status == http.StatusOK && p.Error() == "" {
			t.Fatalf("a wrong password was accepted for %s", upn)
		}
	}
	if err := srv.API.FlushSignIns(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := srv.Store.ListSignIns(context.Background(), srv.TenantID, signinlog.Filter{}, 100)
	if err != nil || len(all) != 2 {
		t.Fatalf("%d entries, %v", len(all), err)
	}
	byUPN := map[string]signinlog.Entry{}
	for _, e := range all {
		byUPN[e.UserPrincipalName] = e
	}
	known, unknown := byUPN[u.UserPrincipalName], byUPN["nobody@contoso.test"]
	if known.UserID != u.ID || known.Status.ErrorCode != 50126 || !strings.Contains(known.Status.FailureReason, "incorrect") ||
		len(known.AuthenticationDetails) != 1 || known.AuthenticationDetails[0].Succeeded {
		t.Errorf("known user's entry %+v", known)
	}
	if unknown.UserID != "" || unknown.Status.ErrorCode != 50126 || unknown.Latch.Flow != signinlog.FlowBrowser {
		t.Errorf("unknown user's entry %+v", unknown)
	}
}

// Many issuances at once are each logged once, however the writers batch them.
func TestConcurrentSignInsAllLogged(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	const n = 60
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokenCall(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Boot.Owner.AppID},
				"client_secret": {srv.Boot.Owner.Secret}, "scope": {srv.ARMScope()}})
		}()
	}
	wg.Wait()
	if err := srv.API.FlushSignIns(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := srv.Store.ListSignIns(context.Background(), srv.TenantID, signinlog.Filter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range all {
		ids[e.CorrelationID] = true
	}
	if len(all) != n || len(ids) != n {
		t.Fatalf("%d entries with %d correlation ids, want %d", len(all), len(ids), n)
	}
}
