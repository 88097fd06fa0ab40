package httpapi

import (
	"context"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
)

// LoginRequirements exposes the goal state's Conditional Access requirements to the tests.
func (s *Server) LoginRequirements(ctx context.Context, tenantID string, vm resource.Resource, u *machineapi.LoginUser) error {
	return s.caLoginRequirements(ctx, tenantID, vm, u)
}
