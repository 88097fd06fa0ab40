package httpapi

import (
	"context"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
)

// loginRequirements lets Conditional Access fill in what it asks of user u's logins to vm
// (u.Requirements, u.Block) before the list reaches the machine. It runs once per user and VM
// each time the tenant's login table is rebuilt, that is after every change in the tenant, so
// a policy change reaches machines like a role change does. An error fails the goal state
// request (the machine keeps what it had and asks again). ca_machine.go decides.
func (s *Server) loginRequirements(ctx context.Context, tenantID string, vm resource.Resource, u *machineapi.LoginUser) error {
	return s.caLoginRequirements(ctx, tenantID, vm, u)
}
