package storetest

import (
	"fmt"
	"testing"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
)

func assignmentRace(t *testing.T, s store.Store) {
	const n = 30
	warm(t, s, n)
	tid, user, scope := newID(), newID(), "/subscriptions/"+newID()
	res := race(n, func(int) error {
		return s.CreateRoleAssignment(ctx(t), newAssignment(tid, scope, user, access.VMUserLoginRoleID))
	})
	wantTally(t, res, map[string]int{"ok": 1, "exists": n - 1})
	list, err := s.ListRoleAssignments(ctx(t), tid, resource.RoleAssignmentQuery{PrincipalIDs: []string{user}})
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("%d assignments stored, want 1", len(list))
	}
}

func rgTagRace(t *testing.T, s store.Store) {
	const n = 30
	warm(t, s, n)
	f := newResFixture(t, s)
	res := race(n, func(i int) error {
		_, err := s.UpdateResourceGroup(ctx(t), f.tid, f.sub, "rg1", func(g resource.ResourceGroup) (resource.ResourceGroup, error) {
			tags := map[string]string{}
			for k, v := range g.Tags {
				tags[k] = v
			}
			tags[fmt.Sprint("t", i)] = "x"
			g.Tags = tags
			return g, nil
		})
		return err
	})
	wantTally(t, res, map[string]int{"ok": n})
	g, err := s.GetResourceGroup(ctx(t), f.tid, f.sub, "rg1")
	must(t, err)
	if len(g.Tags) != n {
		t.Fatalf("%d tags, want %d: updates were lost", len(g.Tags), n)
	}
}

// rgDeleteRace deletes a resource group while machines are being created in it: whatever
// order the database picks, no machine may outlive the group.
func rgDeleteRace(t *testing.T, s store.Store) {
	const n = 20
	warm(t, s, n)
	f := newResFixture(t, s)
	res := race(n+1, func(i int) error {
		if i == n {
			return s.DeleteResourceGroup(ctx(t), f.tid, f.sub, "rg1")
		}
		err := s.CreateResource(ctx(t), newVM(f.tid, f.sub, "rg1", fmt.Sprint("vm-", i)))
		if errs.Is(err, errs.NotFound) {
			return nil // the group was gone first
		}
		return err
	})
	wantTally(t, res, map[string]int{"ok": n + 1})
	left, err := s.ListResources(ctx(t), f.tid, "/subscriptions/"+f.sub, "")
	must(t, err)
	if len(left) != 0 {
		t.Fatalf("%d machines outlived their group", len(left))
	}
}
