package storetest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store"
)

// caPolicy is a valid policy that names locID (when not "") and strengthID (when not "").
func caPolicy(t *testing.T, locID, strengthID string) conditional.Policy {
	t.Helper()
	locs, grant := "null", `{"operator":"OR","builtInControls":["mfa"]}`
	if locID != "" {
		locs = fmt.Sprintf(`{"includeLocations":["All"],"excludeLocations":[%q]}`, locID)
	}
	if strengthID != "" {
		grant = fmt.Sprintf(`{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":%q}}`, strengthID)
	}
	p, err := conditional.ParsePolicy(fmt.Appendf(nil, `{"displayName":"Require MFA","state":"enabled",
		"conditions":{"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]},"locations":%s},
		"grantControls":%s}`, locs, grant))
	must(t, err)
	p.ID = newID()
	return p
}

func caLocation(t *testing.T) conditional.NamedLocation {
	t.Helper()
	l, err := conditional.ParseNamedLocation([]byte(`{"@odata.type":"#microsoft.graph.ipNamedLocation",
		"displayName":"Office","isTrusted":true,"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"192.0.2.0/24"}]}`))
	must(t, err)
	l.ID = newID()
	return l
}

func caStrength(t *testing.T) conditional.Strength {
	t.Helper()
	s, err := conditional.ParseStrength([]byte(`{"displayName":"Keys only","description":"","allowedCombinations":["fido2"]}`))
	must(t, err)
	s.ID = newID()
	return s
}

// sameJSON fails unless got and want marshal identically: the store keeps canonical JSON.
func sameJSON(t *testing.T, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	must(t, err)
	w, err := json.Marshal(want)
	must(t, err)
	if string(g) != string(w) {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
}

func signIn(user, app string, at time.Time, code int) signinlog.Entry {
	return signinlog.Entry{ID: newID(), CreatedDateTime: at, UserID: user, AppID: app,
		UserPrincipalName: user + "@example.test", Status: signinlog.Status{ErrorCode: code}}
}

var conditionalFailures = []Case{
	{"fail/ca-policy-not-found", func(t *testing.T, s store.Store) {
		_, err := s.GetConditionalAccessPolicy(ctx(t), newID(), newID())
		wantKind(t, err, errs.NotFound)
		wantKind(t, s.DeleteConditionalAccessPolicy(ctx(t), newID(), newID()), errs.NotFound)
		_, err = s.UpdateConditionalAccessPolicy(ctx(t), newID(), newID(), func(p conditional.Policy) (conditional.Policy, error) { return p, nil })
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/ca-policy-duplicate-or-no-id", func(t *testing.T, s store.Store) {
		tid, p := newID(), caPolicy(t, "", "")
		must(t, s.CreateConditionalAccessPolicy(ctx(t), tid, p))
		wantKind(t, s.CreateConditionalAccessPolicy(ctx(t), tid, p), errs.Exists)
		p.ID = ""
		wantKind(t, s.CreateConditionalAccessPolicy(ctx(t), tid, p), errs.Invalid)
	}},
	{"fail/ca-policy-other-tenant", func(t *testing.T, s store.Store) {
		p := caPolicy(t, "", "")
		must(t, s.CreateConditionalAccessPolicy(ctx(t), newID(), p))
		_, err := s.GetConditionalAccessPolicy(ctx(t), newID(), p.ID)
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/ca-location-in-use", func(t *testing.T, s store.Store) {
		tid, l := newID(), caLocation(t)
		must(t, s.CreateNamedLocation(ctx(t), tid, l))
		must(t, s.CreateConditionalAccessPolicy(ctx(t), tid, caPolicy(t, l.ID, "")))
		wantKind(t, s.DeleteNamedLocation(ctx(t), tid, l.ID), errs.Conflict)
		_, err := s.GetNamedLocation(ctx(t), tid, l.ID)
		must(t, err)
	}},
	{"fail/ca-strength-in-use", func(t *testing.T, s store.Store) {
		tid, st := newID(), caStrength(t)
		must(t, s.CreateAuthenticationStrength(ctx(t), tid, st))
		must(t, s.CreateConditionalAccessPolicy(ctx(t), tid, caPolicy(t, "", st.ID)))
		wantKind(t, s.DeleteAuthenticationStrength(ctx(t), tid, st.ID), errs.Conflict)
		wantKind(t, s.DeleteAuthenticationStrength(ctx(t), tid, newID()), errs.NotFound)
	}},
	{"fail/ca-update-error-aborts", func(t *testing.T, s store.Store) {
		tid, l := newID(), caLocation(t)
		must(t, s.CreateNamedLocation(ctx(t), tid, l))
		boom := errs.E("test", errs.Invalid, "no")
		_, err := s.UpdateNamedLocation(ctx(t), tid, l.ID, func(conditional.NamedLocation) (conditional.NamedLocation, error) {
			return conditional.NamedLocation{DisplayName: "changed"}, boom
		})
		wantKind(t, err, errs.Invalid)
		got, err := s.GetNamedLocation(ctx(t), tid, l.ID)
		must(t, err)
		sameJSON(t, got, l)
	}},
	{"fail/signin-invalid-or-duplicate", func(t *testing.T, s store.Store) {
		tid, e := newID(), signIn("u", "a", t0, 0)
		must(t, s.AppendSignIn(ctx(t), tid, e))
		wantKind(t, s.AppendSignIn(ctx(t), tid, e), errs.Exists)
		e.ID = ""
		wantKind(t, s.AppendSignIn(ctx(t), tid, e), errs.Invalid)
		e.ID, e.CreatedDateTime = newID(), time.Time{}
		wantKind(t, s.AppendSignIn(ctx(t), tid, e), errs.Invalid)
	}},
}

var conditionalOK = []Case{
	{"ok/ca-policy-crud", func(t *testing.T, s store.Store) {
		tid, p, q := newID(), caPolicy(t, "", ""), caPolicy(t, "", "")
		must(t, s.CreateConditionalAccessPolicy(ctx(t), tid, p))
		must(t, s.CreateConditionalAccessPolicy(ctx(t), tid, q))
		got, err := s.GetConditionalAccessPolicy(ctx(t), tid, p.ID)
		must(t, err)
		sameJSON(t, got, p)
		up, err := s.UpdateConditionalAccessPolicy(ctx(t), tid, p.ID, func(old conditional.Policy) (conditional.Policy, error) {
			old.ID, old.State = "renamed", conditional.StateDisabled
			return old, nil
		})
		must(t, err)
		if up.ID != p.ID || up.State != conditional.StateDisabled {
			t.Fatalf("update returned id %q state %q", up.ID, up.State)
		}
		list, err := s.ListConditionalAccessPolicies(ctx(t), tid)
		must(t, err)
		if len(list) != 2 || list[0].ID != p.ID || list[0].State != conditional.StateDisabled || list[1].ID != q.ID {
			t.Fatalf("list: %+v", list)
		}
		must(t, s.DeleteConditionalAccessPolicy(ctx(t), tid, p.ID))
		list, err = s.ListConditionalAccessPolicies(ctx(t), tid)
		must(t, err)
		if len(list) != 1 || list[0].ID != q.ID {
			t.Fatalf("after delete: %+v", list)
		}
	}},
	{"ok/ca-location-and-strength-free-after-policy-goes", func(t *testing.T, s store.Store) {
		tid, l, st := newID(), caLocation(t), caStrength(t)
		must(t, s.CreateNamedLocation(ctx(t), tid, l))
		must(t, s.CreateAuthenticationStrength(ctx(t), tid, st))
		p := caPolicy(t, l.ID, st.ID)
		must(t, s.CreateConditionalAccessPolicy(ctx(t), tid, p))
		gl, err := s.GetNamedLocation(ctx(t), tid, l.ID)
		must(t, err)
		if !gl.Contains(netip.MustParseAddr("192.0.2.7"), "") || !gl.IsTrusted {
			t.Fatalf("location lost its range or trust: %+v", gl)
		}
		gs, err := s.ListAuthenticationStrengths(ctx(t), tid)
		must(t, err)
		if len(gs) != 1 {
			t.Fatalf("strengths: %+v", gs)
		}
		sameJSON(t, gs[0], st)
		must(t, s.DeleteConditionalAccessPolicy(ctx(t), tid, p.ID))
		must(t, s.DeleteNamedLocation(ctx(t), tid, l.ID))
		must(t, s.DeleteAuthenticationStrength(ctx(t), tid, st.ID))
		ls, err := s.ListNamedLocations(ctx(t), tid)
		must(t, err)
		if len(ls) != 0 {
			t.Fatalf("locations left: %+v", ls)
		}
	}},
	{"ok/signin-list-newest-first-filtered", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.AppendSignIn(ctx(t), newID(), signIn("alice", "app", t0, 0))) // another tenant
		for i, e := range []signinlog.Entry{
			signIn("alice", "app", t0.Add(1*time.Minute), 0),
			signIn("bob", "app", t0.Add(3*time.Minute), 53003),
			signIn("alice", "other", t0.Add(2*time.Minute), 0),
			signIn("alice", "app", t0.Add(4*time.Minute), 50126),
		} {
			e.ID = fmt.Sprintf("e%d", i)
			must(t, s.AppendSignIn(ctx(t), tid, e))
		}
		check := func(f signinlog.Filter, limit int, want ...string) {
			t.Helper()
			got, err := s.ListSignIns(ctx(t), tid, f, limit)
			must(t, err)
			ids := []string{}
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Fatalf("filter %+v limit %d: got %v, want %v", f, limit, ids, want)
			}
		}
		check(signinlog.Filter{}, 0, "e3", "e1", "e2", "e0")
		check(signinlog.Filter{}, 2, "e3", "e1")
		check(signinlog.Filter{UserID: "ALICE"}, 0, "e3", "e2", "e0")
		check(signinlog.Filter{UserID: "alice", AppID: "app", Status: signinlog.StatusSuccess}, 0, "e0")
		check(signinlog.Filter{Status: signinlog.StatusFailure}, 0, "e3", "e1")
		check(signinlog.Filter{From: t0.Add(2 * time.Minute), To: t0.Add(4 * time.Minute)}, 0, "e1", "e2")
	}},
}

var conditionalConcurrency = []Case{
	{"concurrency/ca-policy-updates-lose-nothing", func(t *testing.T, s store.Store) {
		tid, p := newID(), caPolicy(t, "", "")
		must(t, s.CreateConditionalAccessPolicy(ctx(t), tid, p))
		const n = 50
		errsOut := race(n, func(i int) error {
			_, err := s.UpdateConditionalAccessPolicy(ctx(t), tid, p.ID, func(old conditional.Policy) (conditional.Policy, error) {
				old.Conditions.Users.ExcludeUsers = append(old.Conditions.Users.ExcludeUsers, fmt.Sprint(i))
				return old, nil
			})
			return err
		})
		if n := tally(errsOut); n["ok"] != len(errsOut) {
			t.Fatalf("concurrent updates: %v", n)
		}
		got, err := s.GetConditionalAccessPolicy(ctx(t), tid, p.ID)
		must(t, err)
		if len(got.Conditions.Users.ExcludeUsers) != n {
			t.Fatalf("%d exclusions after %d concurrent updates: a write was lost", len(got.Conditions.Users.ExcludeUsers), n)
		}
	}},
}
