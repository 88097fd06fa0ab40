package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
)

// Who may log in to a VM is the expensive part of a goal state: it needs all of the tenant's
// role assignments, groups and users. Thousands of machines wait at once and all wake on the
// same change, so each tenant's inputs are read once per change generation (and at most every
// goalStateRecheck without one), and each VM's list is decided once per generation; a waiter
// then costs a few lookups.

// tenantLogins is one tenant's login table. mu is held while it is rebuilt, so the waiters a
// change wakes wait for one build instead of each doing their own.
type tenantLogins struct {
	mu    sync.Mutex
	ready bool
	gen   uint64
	built time.Time
	index *loginIndex
	vms   map[string][]machineapi.LoginUser // by lower-case VM id
}

// A table older than goalStateRecheck is read again, since another replica may have changed
// the tenant; when what was read hashes the same (loginIndex.inputs), the VMs' lists are kept,
// so that a quiet tenant does not decide every VM again every few seconds.

// loginIndex is a tenant's decision inputs for logins.
type loginIndex struct {
	access *resource.AccessIndex
	hier   resource.Hierarchy
	// candidates are the enabled users with a local name who hold, directly or through
	// groups, some assignment of a role granting a login action somewhere, sorted by id.
	// Only they can be allowed; everyone else is skipped without a decision.
	candidates []directory.User
	// inputs is a hash of everything read to build the index, and of the Conditional Access
	// policies and directory roles loginRequirements reads, to tell a changed tenant from a
	// quiet one.
	inputs [32]byte
	// groups and dirRoles are what Conditional Access needs of each candidate; reqs keeps
	// what it decided per user, since it depends on the user alone, not the VM.
	groups   []directory.Group
	dirRoles []directory.RoleAssignment
	reqs     map[string]loginReqs
}

// loginReqs is what Conditional Access asks of one user's machine logins.
type loginReqs struct {
	requirements [][]string
	block        string
}

// loginUsers returns who may log in to vm, from the tenant's table.
func (s *Server) loginUsers(ctx context.Context, vm resource.Resource) ([]machineapi.LoginUser, error) {
	gen, _ := s.changes.watch(vm.TenantID)
	t := s.goals.tenant(vm.TenantID)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := s.now()
	if !t.ready || t.gen != gen || now.Sub(t.built) >= goalStateRecheck || now.Before(t.built) {
		idx, err := s.buildLoginIndex(ctx, vm.TenantID)
		if err != nil {
			return nil, err
		}
		if !t.ready || t.gen != gen || idx.inputs != t.index.inputs {
			t.vms = map[string][]machineapi.LoginUser{}
		}
		t.ready, t.gen, t.built, t.index = true, gen, now, idx
	}
	k := strings.ToLower(vm.ID)
	if users, ok := t.vms[k]; ok {
		return users, nil
	}
	users, err := s.decideLoginUsers(ctx, t.index, vm)
	if err != nil {
		return nil, err
	}
	t.vms[k] = users
	return users, nil
}

// buildLoginIndex reads the tenant's assignments, roles, groups and users.
func (s *Server) buildLoginIndex(ctx context.Context, tenantID string) (*loginIndex, error) {
	const op = "httpapi.buildLoginIndex"
	hier, err := s.hierarchy(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	groups, err := s.Store.ListGroups(ctx, tenantID)
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), err)
	}
	as, err := s.Store.ListRoleAssignments(ctx, tenantID, resource.RoleAssignmentQuery{})
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), err)
	}
	custom, err := s.Store.ListRoleDefinitions(ctx, tenantID)
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), err)
	}
	users, err := s.Store.ListUsers(ctx, tenantID)
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), err)
	}
	dirRoles, err := s.Store.ListDirectoryRoleAssignments(ctx, tenantID)
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), err)
	}
	inputs, err := s.loginInputsHash(ctx, tenantID, dirRoles, groups, as, custom, users)
	if err != nil {
		return nil, err
	}
	idx := resource.NewAccessIndex(resource.Assignments(as), resource.Definitions(custom), groups)
	holders := loginHolders(idx, resource.Assignments(as), groups)
	var cands []directory.User
	for _, u := range users {
		if holders[strings.ToLower(u.ID)] && u.AccountEnabled && directory.LocalName(u.UserPrincipalName) != "" {
			cands = append(cands, u)
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
	return &loginIndex{access: idx, hier: hier, candidates: cands, inputs: inputs, groups: groups,
		dirRoles: dirRoles, reqs: map[string]loginReqs{}}, nil
}

// loginInputsHash hashes what decides a tenant's logins: the inputs read here and those
// Conditional Access reads for loginRequirements.
func (s *Server) loginInputsHash(ctx context.Context, tenantID string, roles []directory.RoleAssignment, parts ...any) ([32]byte, error) {
	const op = "httpapi.loginInputsHash"
	policies, err := s.Store.ListConditionalAccessPolicies(ctx, tenantID)
	if err != nil {
		return [32]byte{}, errs.E(op, errs.KindOf(err), err)
	}
	mgs, err := s.Store.ListManagementGroups(ctx, tenantID)
	if err != nil {
		return [32]byte{}, errs.E(op, errs.KindOf(err), err)
	}
	strengths, err := s.Store.ListAuthenticationStrengths(ctx, tenantID)
	if err != nil {
		return [32]byte{}, errs.E(op, errs.KindOf(err), err)
	}
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range append(parts, policies, roles, mgs, strengths) {
		if err := enc.Encode(p); err != nil {
			return [32]byte{}, errs.E(op, errs.Internal, err)
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}

// loginHolders are the lower-case ids of every principal assigned a role that grants a login
// action, and every member (transitively) of such a group.
func loginHolders(idx *resource.AccessIndex, as []access.RoleAssignment, groups []directory.Group) map[string]bool {
	members := map[string][]string{}
	for _, g := range groups {
		members[strings.ToLower(g.ID)] = g.Members
	}
	out := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		k := strings.ToLower(id)
		if out[k] {
			return
		}
		out[k] = true
		for _, m := range members[k] {
			visit(m)
		}
	}
	roles := idx.Roles()
	for _, a := range as {
		r, ok := roles[strings.ToLower(a.RoleDefinitionID)]
		if ok && (r.Grants(access.ActionVMLogin, true) || r.Grants(access.ActionVMLoginAsAdmin, true)) {
			visit(a.PrincipalID)
		}
	}
	return out
}

// decideLoginUsers decides each candidate at the VM with the decision function every other
// route uses, and lets Conditional Access add its requirements.
func (s *Server) decideLoginUsers(ctx context.Context, idx *loginIndex, vm resource.Resource) ([]machineapi.LoginUser, error) {
	scope, err := access.ParseScope(vm.ID)
	if err != nil {
		return nil, errs.E("httpapi.decideLoginUsers", errs.Internal, err)
	}
	anc := idx.hier.Ancestors(scope)
	out := []machineapi.LoginUser{}
	for _, u := range idx.candidates {
		admin := idx.access.Check(u.ID, access.ActionVMLoginAsAdmin, true, scope, anc).Allowed
		if !admin && !idx.access.Check(u.ID, access.ActionVMLogin, true, scope, anc).Allowed {
			continue
		}
		lu := machineapi.LoginUser{ObjectID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
			LocalName: directory.LocalName(u.UserPrincipalName), Admin: admin}
		r, ok := idx.reqs[u.ID]
		if !ok {
			if err := s.caLoginRequirements(ctx, vm.TenantID, u, idx.groups, idx.dirRoles, &lu); err != nil {
				return nil, err
			}
			r = loginReqs{lu.Requirements, lu.Block}
			idx.reqs[u.ID] = r
		}
		lu.Requirements, lu.Block = r.requirements, r.block
		out = append(out, lu)
	}
	return out, nil
}
