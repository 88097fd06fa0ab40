package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
)

// The goal state: what the control plane wants a machine to be (machineapi.GoalState). The
// agent asks GET /machines/goalstate?version=V&wait=S; an answer comes at once when the state
// differs from V, otherwise the request waits for a change in the machine's tenant (or
// goalStateRecheck, for changes made through another replica) and answers 304 when S runs out.
// A restart of either side loses nothing: the version is a hash of the state itself, so a new
// server computes the same version from the same store, and the agent simply asks again.

const (
	// goalStateRecheck is how often a waiting request recomputes without a notification, and
	// how long a tenant's login table is trusted without one: it bounds how late a change
	// made through another replica, or by the passing of time, reaches a machine.
	goalStateRecheck = 5 * time.Second
	// loginTTLSeconds is how long a machine may decide logins with what it last heard.
	loginTTLSeconds = 600
	// machineConnectedWithin is how recently a machine must have been heard from to count as
	// connected: three of its agent's one-minute status intervals.
	machineConnectedWithin = 3 * time.Minute
)

// goalStates is the server's state for goal states: each tenant's login table and the
// long-polls open on this replica. The zero value is ready.
type goalStates struct {
	mu      sync.Mutex
	logins  map[string]*tenantLogins // by lower-case tenant id
	polls   map[string]int           // open long-polls by lower-case VM id
	closing chan struct{}            // closed when the server shuts down
	closed  bool
}

// closingChan is closed once CloseLongPolls was called.
func (g *goalStates) closingChan() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing == nil {
		g.closing = make(chan struct{})
	}
	return g.closing
}

// CloseLongPolls answers every open and later goal-state long-poll with 304 at once, so that
// a shutting-down server is not held up by machines waiting on it; each machine simply asks
// again, of this server's successor or another replica. Register it with
// http.Server.RegisterOnShutdown. It may be called more than once.
func (s *Server) CloseLongPolls() {
	g := &s.goals
	g.closingChan()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		close(g.closing)
	}
}

// pollStarted and pollEnded count a machine's open long-polls; while one is open the VM shows
// as connected.
func (g *goalStates) pollStarted(vmID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.polls == nil {
		g.polls = map[string]int{}
	}
	g.polls[strings.ToLower(vmID)]++
}

func (g *goalStates) pollEnded(vmID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := strings.ToLower(vmID)
	if g.polls[k]--; g.polls[k] <= 0 {
		delete(g.polls, k)
	}
}

func (g *goalStates) polling(vmID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.polls[strings.ToLower(vmID)] > 0
}

// tenant returns the tenant's login table record, making it on first use.
func (g *goalStates) tenant(tenantID string) *tenantLogins {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.logins == nil {
		g.logins = map[string]*tenantLogins{}
	}
	k := strings.ToLower(tenantID)
	t := g.logins[k]
	if t == nil {
		t = &tenantLogins{}
		g.logins[k] = t
	}
	return t
}

// machineGoalState serves GET /machines/goalstate.
func (s *Server) machineGoalState(w http.ResponseWriter, r *http.Request, m store.Machine) error {
	have, wait, err := goalStateQuery(r)
	if err != nil {
		return err
	}
	if wait > 0 {
		s.goals.pollStarted(m.ResourceID)
		defer s.goals.pollEnded(m.ResourceID)
	}
	deadline := time.Now().Add(wait)
	// The server's write timeout would cut a long wait off; this request may take as long as
	// it waits, and some more for computing the answer. Writers that cannot say so are fine.
	_ = http.NewResponseController(w).SetWriteDeadline(deadline.Add(30 * time.Second))
	closing := s.goals.closingChan()
	for {
		_, wake := s.changes.watch(m.TenantID) // before computing, so no change slips between
		gs, err := s.goalState(r.Context(), m)
		if err != nil {
			return err
		}
		left := time.Until(deadline)
		if gs.Version != have {
			writeJSON(w, http.StatusOK, gs)
			return nil
		}
		if left <= 0 {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		switch sleepUntilChange(r.Context(), closing, wake, min(left, goalStateRecheck)) {
		case sleepGone:
			return nil // the machine went away; nobody reads an answer
		case sleepClosing:
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
}

// How a wait for a change ended.
const (
	sleepWoken   = iota // a change, or time to look again
	sleepGone           // the request's context ended
	sleepClosing        // the server is shutting down
)

// sleepUntilChange waits for wake or d, unless the request ends or the server closes first.
func sleepUntilChange(ctx context.Context, closing, wake <-chan struct{}, d time.Duration) int {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	case <-ctx.Done():
		return sleepGone
	case <-closing:
		return sleepClosing
	}
	return sleepWoken
}

// goalStateQuery reads version (any string up to 128 characters) and wait (whole seconds,
// capped at machineapi.MaxWaitSeconds).
func goalStateQuery(r *http.Request) (string, time.Duration, error) {
	const op = "httpapi.goalStateQuery"
	q := r.URL.Query()
	have := q.Get("version")
	if len(have) > 128 {
		return "", 0, errs.E(op, errs.Invalid, errs.Code("InvalidVersion"), "The version parameter is too long.")
	}
	secs := 0
	if raw := q.Get("wait"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return "", 0, errs.E(op, errs.Invalid, errs.Code("InvalidWait"), "The wait parameter must be a whole number of seconds.")
		}
		secs = min(n, machineapi.MaxWaitSeconds)
	}
	return have, time.Duration(secs) * time.Second, nil
}

// goalState computes the machine's goal state from the store and the tenant's login table.
func (s *Server) goalState(ctx context.Context, m store.Machine) (machineapi.GoalState, error) {
	const op = "httpapi.goalState"
	vm, err := s.Store.GetResource(ctx, m.TenantID, m.ResourceID)
	if errs.Is(err, errs.NotFound) {
		return machineapi.GoalState{}, errs.E(op, errs.Unauthenticated, errs.Code("InvalidMachineProof"), "The machine's virtual machine was deleted.")
	}
	if err != nil {
		return machineapi.GoalState{}, err
	}
	gs := machineapi.GoalState{TenantID: m.TenantID, ResourceID: vm.ID, VMName: vm.Name, Extensions: []machineapi.Extension{},
		Endpoints: s.machineEndpoints()}
	if gs.Identity, err = s.goalIdentity(ctx, vm); err != nil {
		return gs, err
	}
	exts, err := s.Store.ListResources(ctx, m.TenantID, vm.ID, resource.TypeVMExtension)
	if err != nil {
		return gs, err
	}
	login := false
	for _, e := range exts {
		ge, isLogin, ok := goalExtension(e)
		if ok {
			gs.Extensions = append(gs.Extensions, ge)
			login = login || isLogin
		}
	}
	sort.Slice(gs.Extensions, func(i, j int) bool { return gs.Extensions[i].Name < gs.Extensions[j].Name })
	if login {
		if gs.Login, err = s.goalLogin(ctx, vm); err != nil {
			return gs, err
		}
	}
	gs.Version = goalVersion(gs)
	gs.IssuedAt = s.now().UTC()
	return gs, nil
}

// goalExtension is the goal-state form of an extension resource; ok is false for one outside
// the catalog. isLogin is set for a login extension that is wanted on the machine: not being
// deleted and not failed.
func goalExtension(e resource.Resource) (ge machineapi.Extension, isLogin, ok bool) {
	p, err := resource.ParseExtensionProperties(e.Properties)
	if err != nil {
		return ge, false, false
	}
	if _, found := resource.FindExtensionImage(p.Publisher, p.Type); !found {
		return ge, false, false
	}
	ge = machineapi.Extension{Name: e.Name, Publisher: p.Publisher, Type: p.Type, TypeHandlerVersion: p.TypeHandlerVersion,
		Settings: p.Settings, State: machineapi.ExtensionEnabled, Generation: p.Generation()}
	if p.Deleting() {
		ge.State = machineapi.ExtensionDeleting
	}
	isLogin = p.IsLoginExtension() && !p.Deleting() && p.ProvisioningState != resource.ProvisioningFailed
	return ge, isLogin, true
}

// goalIdentity is the VM's system-assigned identity, nil when it has none or its service
// principal is gone, disabled or no longer the VM's.
func (s *Server) goalIdentity(ctx context.Context, vm resource.Resource) (*machineapi.Identity, error) {
	if vm.Identity == nil || vm.Identity.Type != resource.IdentitySystemAssigned || vm.Identity.PrincipalID == "" {
		return nil, nil
	}
	sp, err := s.Store.GetServicePrincipal(ctx, vm.TenantID, vm.Identity.PrincipalID)
	if errs.Is(err, errs.NotFound) || err == nil && (!strings.EqualFold(sp.ManagedResourceID, vm.ID) || !sp.AccountEnabled) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &machineapi.Identity{PrincipalID: sp.ID, ClientID: sp.AppID, TenantID: vm.TenantID}, nil
}

// goalLogin is what the machine needs to decide logins itself: the tenant's CA and who may
// log in.
func (s *Server) goalLogin(ctx context.Context, vm resource.Resource) (*machineapi.Login, error) {
	ca, err := s.sshCA(ctx, vm.TenantID)
	if err != nil {
		return nil, err
	}
	users, err := s.loginUsers(ctx, vm)
	if err != nil {
		return nil, err
	}
	return &machineapi.Login{CAKeys: []string{ca.AuthorizedKeyLine()}, Users: users, TTLSeconds: loginTTLSeconds}, nil
}

// machineEndpoints are this deployment's endpoints; every service is served at the one URL.
func (s *Server) machineEndpoints() machineapi.Endpoints {
	return machineapi.Endpoints{Login: s.URL, Registration: s.URL, Device: s.URL, Access: s.URL, Management: s.URL}
}

// goalVersion is the hex SHA-256 of the goal state's JSON without its version and issue
// time. encoding/json writes struct fields in declaration order and compacts raw settings,
// so equal states give equal versions in every process.
func goalVersion(gs machineapi.GoalState) string {
	gs.Version, gs.IssuedAt = "", time.Time{}
	b, err := json.Marshal(gs)
	if err != nil {
		panic("httpapi.goalVersion: " + err.Error()) // plain structs and checked raw JSON only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// machineLiveness shows the VM's machine as Connected while it holds a long-poll here or was
// heard from within machineConnectedWithin, and as Disconnected once it was connected but has
// not been heard from since. It decides at read time, so no sweeper has to run.
func (s *Server) machineLiveness(vm resource.Resource) resource.Resource {
	p, err := resource.ParseVMProperties(vm.Properties)
	if err != nil {
		return vm
	}
	switch {
	case s.goals.polling(vm.ID):
		p.Machine.Status = resource.MachineConnected
	case p.Machine.LastSeen != nil && s.now().Sub(*p.Machine.LastSeen) <= machineConnectedWithin:
		p.Machine.Status = resource.MachineConnected
	case p.Machine.LastSeen != nil || p.Machine.Status == resource.MachineConnected:
		p.Machine.Status = resource.MachineDisconnected
	}
	vm.Properties = resource.Raw(p)
	return vm
}
