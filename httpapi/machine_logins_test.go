package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/signinlog"
)

// loginEvent is a refused login of alice, to be changed by a case.
func (f *machineFixture) loginEvent(change func(*machineapi.LoginEvent)) machineapi.LoginEvent {
	ev := machineapi.LoginEvent{ID: uuid.NewString(), Time: time.Now().UTC().Add(-time.Minute), User: "alice@contoso.test",
		ObjectID: f.alice.ID, UPN: "alice@contoso.test", KeyID: "corr=c,tid=t,oid=o,upn=u", Serial: 42,
		CorrelationID: uuid.NewString(), Allowed: false,
		Reason: "Your account is configured to prevent you from using this device. (no role on vm1)"}
	if change != nil {
		change(&ev)
	}
	return ev
}

func TestMachineLoginsRefusals(t *testing.T) {
	f := newMachineFixture(t)
	k, id, tid := f.connect(t, f.withID)
	proof := func() string { return k.proof(t, nil, f.claims(id, tid)) }
	many := make([]machineapi.LoginEvent, 101)
	for i := range many {
		many[i] = f.loginEvent(nil)
	}
	bad := func(change func(*machineapi.LoginEvent)) map[string]any {
		return map[string]any{"value": []machineapi.LoginEvent{f.loginEvent(change)}}
	}
	for _, c := range []struct {
		name  string
		proof string
		body  any
		want  int
	}{
		{"fail/no-proof", "", bad(nil), 401},
		{"fail/other-machines-key", newMachineKey(t).proof(t, nil, f.claims(id, tid)), bad(nil), 401},
		{"fail/oversized-batch", proof(), map[string]any{"value": many}, 400},
		{"fail/empty-batch", proof(), map[string]any{"value": []any{}}, 400},
		{"fail/unknown-field", proof(), map[string]any{"value": []any{map[string]any{"id": "x", "evil": 1}}}, 400},
		{"fail/no-id", proof(), bad(func(e *machineapi.LoginEvent) { e.ID = "" }), 400},
		{"fail/id-with-slash", proof(), bad(func(e *machineapi.LoginEvent) { e.ID = "a/b" }), 400},
		{"fail/reason-too-long", proof(), bad(func(e *machineapi.LoginEvent) { e.Reason = strings.Repeat("x", 5000) }), 400},
		{"fail/control-characters", proof(), bad(func(e *machineapi.LoginEvent) { e.User = "alice\nforged line" }), 400},
		{"fail/object-id-not-guid", proof(), bad(func(e *machineapi.LoginEvent) { e.ObjectID = "not-a-guid" }), 400},
		{"fail/future-time", proof(), bad(func(e *machineapi.LoginEvent) { e.Time = time.Now().Add(time.Hour) }), 400},
		{"fail/no-user", proof(), bad(func(e *machineapi.LoginEvent) { e.User = "" }), 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			if st, m := f.machineDo(t, "POST", machineapi.PathLogins, c.proof, c.body); st != c.want {
				t.Fatalf("status %d %v, want %d", st, m, c.want)
			}
		})
	}
	if got := f.machineLogins(t, tid, ""); len(got) != 0 {
		t.Fatalf("refused calls logged %d entries", len(got))
	}
}

func TestMachineLoginsLogged(t *testing.T) {
	f := newMachineFixture(t)
	k, id, tid := f.connect(t, f.withID)
	refused := f.loginEvent(nil)
	allowed := f.loginEvent(func(e *machineapi.LoginEvent) {
		e.Allowed, e.Admin, e.Stale, e.Reason = true, true, true, "allowed from cached rules"
	})
	stranger := f.loginEvent(func(e *machineapi.LoginEvent) { e.ObjectID = uuid.NewString(); e.UPN = "mallory@else.test" })
	body := map[string]any{"value": []machineapi.LoginEvent{refused, allowed, stranger}}
	for _, name := range []string{"ok/first", "ok/resent-is-deduplicated"} {
		if st, m := f.machineDo(t, "POST", machineapi.PathLogins, k.proof(t, nil, f.claims(id, tid)), body); st != 204 {
			t.Fatalf("%s: status %d %v", name, st, m)
		}
	}
	all := f.machineLogins(t, tid, "")
	if len(all) != 3 {
		t.Fatalf("%d entries after sending 3 events twice, want 3", len(all))
	}
	byCorr := map[string]signinlog.Entry{}
	for _, e := range all {
		byCorr[e.CorrelationID] = e
	}
	t.Run("ok/refused", func(t *testing.T) {
		e := byCorr[refused.CorrelationID]
		if e.Status.ErrorCode != 50105 || e.Status.FailureReason != refused.Reason || e.UserID != f.alice.ID ||
			e.AppID != directory.LinuxVMSignInAppID || e.Latch.Flow != signinlog.FlowMachineLogin ||
			!strings.HasSuffix(e.ResourceID, "/virtualMachines/vm1") || e.Latch.LocalAccount != refused.User ||
			e.Latch.SSHCertificateKey != refused.KeyID {
			t.Fatalf("refused entry %+v", e)
		}
	})
	t.Run("ok/allowed-stale-admin", func(t *testing.T) {
		e := byCorr[allowed.CorrelationID]
		if e.Status.ErrorCode != 0 || !strings.Contains(e.Status.AdditionalDetails, "cached rules") ||
			!strings.Contains(e.Status.AdditionalDetails, "administrator") {
			t.Fatalf("allowed entry %+v", e.Status)
		}
	})
	t.Run("ok/unknown-user-still-logged", func(t *testing.T) {
		e := byCorr[stranger.CorrelationID]
		if e.UserID != "" || e.Status.ErrorCode == 0 || !strings.Contains(e.Status.AdditionalDetails, "not a user of this tenant") {
			t.Fatalf("stranger entry user %q status %+v", e.UserID, e.Status)
		}
	})
}

// machineLogins lists the tenant's machine-login entries.
func (f *machineFixture) machineLogins(t *testing.T, tid, user string) []signinlog.Entry {
	t.Helper()
	list, err := f.Store.ListSignIns(context.Background(), tid, signinlog.Filter{UserID: user}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []signinlog.Entry
	for _, e := range list {
		if e.Latch.Flow == signinlog.FlowMachineLogin {
			out = append(out, e)
		}
	}
	return out
}
