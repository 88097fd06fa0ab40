package httpapi_test

import (
	"context"
	"testing"

	"github.com/latchsh/latch/signinlog"
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
