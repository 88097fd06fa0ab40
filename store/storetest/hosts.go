package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store"
)

func vmID(i int) string {
	return fmt.Sprintf("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%d", i)
}

var hostFailures = []Case{
	{"fail/remembered-hosts-over-the-cap", func(t *testing.T, s store.Store) {
		tid, uid := newID(), newID()
		_, err := s.UpdateRememberedHosts(ctx(t), tid, uid, func(hs store.RememberedHosts) (store.RememberedHosts, error) {
			for i := range store.MaxRememberedHosts + 1 {
				hs = append(hs, store.RememberedHost{ResourceID: vmID(i), Name: "vm", AllowedAt: t0, LastUsed: t0})
			}
			return hs, nil
		})
		wantKind(t, err, errs.Invalid)
		hs, err := s.GetRememberedHosts(ctx(t), tid, uid)
		must(t, err)
		if len(hs) != 0 {
			t.Fatalf("a refused list was kept: %v", hs)
		}
	}},
	{"fail/remembered-hosts-fn-error-writes-nothing", func(t *testing.T, s store.Store) {
		tid, uid := newID(), newID()
		allow(t, s, tid, uid, 1, t0)
		boom := errors.New("boom")
		_, err := s.UpdateRememberedHosts(ctx(t), tid, uid, func(store.RememberedHosts) (store.RememberedHosts, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want fn's error", err)
		}
		if hs, _ := s.GetRememberedHosts(ctx(t), tid, uid); len(hs) != 1 {
			t.Fatalf("list changed: %v", hs)
		}
	}},
	{"fail/sign-in-retention-keeps-newer-and-other-tenants", func(t *testing.T, s store.Store) {
		tid, other := newID(), newID()
		must(t, s.AppendSignIn(ctx(t), tid, signIn("u", "a", t0, 0)))
		must(t, s.AppendSignIn(ctx(t), other, signIn("u", "a", t0.Add(-time.Hour), 0)))
		n, err := s.DeleteSignInsBefore(ctx(t), tid, t0)
		must(t, err)
		if n != 0 {
			t.Fatalf("deleted %d entries at or after the cut", n)
		}
		if es, _ := s.ListSignIns(ctx(t), other, signinlog.Filter{}, 0); len(es) != 1 {
			t.Fatalf("another tenant's log lost entries: %v", es)
		}
	}},
}

func allow(t *testing.T, s store.Store, tid, uid string, i int, at time.Time) store.RememberedHosts {
	t.Helper()
	hs, err := s.UpdateRememberedHosts(ctx(t), tid, uid, func(hs store.RememberedHosts) (store.RememberedHosts, error) {
		return hs.Allow(vmID(i), fmt.Sprintf("vm%d", i), at), nil
	})
	must(t, err)
	return hs
}

var hostOK = []Case{
	{"ok/remembered-hosts-round-trip", func(t *testing.T, s store.Store) {
		tid, uid := newID(), newID()
		if hs, err := s.GetRememberedHosts(ctx(t), tid, uid); err != nil || len(hs) != 0 {
			t.Fatalf("fresh person: %v %v", hs, err)
		}
		allow(t, s, tid, uid, 1, t0)
		hs, err := s.GetRememberedHosts(ctx(t), tid, uid)
		must(t, err)
		h, ok := hs.Find(vmID(1), t0.Add(time.Hour))
		if !ok || h.Name != "vm1" || !h.AllowedAt.Equal(t0) {
			t.Fatalf("got %v %v", hs, ok)
		}
		if other, _ := s.GetRememberedHosts(ctx(t), tid, newID()); len(other) != 0 {
			t.Fatalf("another person sees the list: %v", other)
		}
	}},
	{"ok/remembered-hosts-evicts-least-recently-used", func(t *testing.T, s store.Store) {
		tid, uid := newID(), newID()
		for i := range store.MaxRememberedHosts {
			allow(t, s, tid, uid, i, t0.Add(time.Duration(i)*time.Minute))
		}
		// vm0 is the oldest allowed but used last, so vm1 is the one to go.
		_, err := s.UpdateRememberedHosts(ctx(t), tid, uid, func(hs store.RememberedHosts) (store.RememberedHosts, error) {
			return hs.Use(vmID(0), t0.Add(time.Hour)), nil
		})
		must(t, err)
		hs := allow(t, s, tid, uid, 99, t0.Add(2*time.Hour))
		now := t0.Add(3 * time.Hour)
		if _, ok := hs.Find(vmID(1), now); ok || len(hs) != store.MaxRememberedHosts {
			t.Fatalf("vm1 not evicted: %v", hs)
		}
		for _, i := range []int{0, 2, 99} {
			if _, ok := hs.Find(vmID(i), now); !ok {
				t.Fatalf("vm%d was evicted: %v", i, hs)
			}
		}
	}},
	{"ok/sign-in-summaries", signInSummaryCase},
	{"ok/sign-in-retention-deletes-older", func(t *testing.T, s store.Store) {
		tid := newID()
		for _, at := range []time.Time{t0.Add(-48 * time.Hour), t0.Add(-time.Microsecond), t0, t0.Add(time.Hour)} {
			must(t, s.AppendSignIn(ctx(t), tid, signIn("u", "a", at, 0)))
		}
		n, err := s.DeleteSignInsBefore(ctx(t), tid, t0)
		must(t, err)
		es, err := s.ListSignIns(ctx(t), tid, signinlog.Filter{}, 0)
		must(t, err)
		if n != 2 || len(es) != 2 || es[1].CreatedDateTime.Before(t0) {
			t.Fatalf("deleted %d, kept %v", n, es)
		}
	}},
}

// The summaries risk reads are the full entries' filter results, with the summary fields.
func signInSummaryCase(t *testing.T, s store.Store) {
	tid := newID()
	for i, at := range []time.Time{t0.Add(-3 * time.Hour), t0.Add(-2 * time.Hour), t0.Add(-time.Hour)} {
		e := signIn("alice", "app", at, []int{0, 50126, 0}[i])
		e.IPAddress, e.AppliedPolicies = "192.0.2.7", []signinlog.AppliedPolicy{{ID: "p", DisplayName: "policy", Result: "success"}}
		must(t, s.AppendSignIn(ctx(t), tid, e))
	}
	f := signinlog.Filter{UserID: "ALICE", From: t0.Add(-150 * time.Minute), Status: signinlog.StatusSuccess}
	full, err := s.ListSignIns(ctx(t), tid, f, 10)
	must(t, err)
	sums, err := s.ListSignInSummaries(ctx(t), tid, f, 10)
	must(t, err)
	if len(full) != 1 || len(sums) != 1 {
		t.Fatalf("full %d, summaries %d, want 1 each", len(full), len(sums))
	}
	want, got := full[0], sums[0]
	if got.ID != want.ID || !got.CreatedDateTime.Equal(want.CreatedDateTime) || got.UserID != want.UserID ||
		got.IPAddress != "192.0.2.7" || got.Status != want.Status || got.AppID != want.AppID || len(got.AppliedPolicies) != 0 {
		t.Fatalf("summary %+v of %+v", got, want)
	}
}

var hostConcurrency = []Case{
	{"ok/remembered-hosts-concurrent-allows", func(t *testing.T, s store.Store) {
		tid, uid := newID(), newID()
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if _, err := s.UpdateRememberedHosts(ctx(t), tid, uid, func(hs store.RememberedHosts) (store.RememberedHosts, error) {
					return hs.Allow(vmID(i), "vm", t0.Add(time.Duration(i)*time.Second)), nil
				}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		hs, err := s.GetRememberedHosts(ctx(t), tid, uid)
		must(t, err)
		if len(hs) != 10 {
			t.Fatalf("lost allows: %d of 10 kept", len(hs))
		}
	}},
}
