package httpapi

import (
	"context"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
)

// LoginRequirements exposes the goal state's Conditional Access requirements to the tests,
// reading the user, groups and directory roles as the login table does.
func (s *Server) LoginRequirements(ctx context.Context, tenantID string, _ resource.Resource, u *machineapi.LoginUser) error {
	user, err := s.Store.GetUser(ctx, tenantID, u.ObjectID)
	if err != nil {
		return err
	}
	groups, err := s.Store.ListGroups(ctx, tenantID)
	if err != nil {
		return err
	}
	roles, err := s.Store.ListDirectoryRoleAssignments(ctx, tenantID)
	if err != nil {
		return err
	}
	return s.caLoginRequirements(ctx, tenantID, user, groups, roles, u)
}
