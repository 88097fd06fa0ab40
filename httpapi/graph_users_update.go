package httpapi

import (
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// userPatch is the body of PATCH /users/{id}; absent fields stay as they are.
type userPatch struct {
	AccountEnabled    *bool            `json:"accountEnabled"`
	DisplayName       *string          `json:"displayName"`
	UserPrincipalName *string          `json:"userPrincipalName"`
	Mail              *string          `json:"mail"`
	MailNickname      *string          `json:"mailNickname"`
	PasswordProfile   *passwordProfile `json:"passwordProfile"`
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.updateUser"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "users", directory.ActionUpdate); err != nil {
		return err
	}
	var body userPatch
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	target, err := s.lookupUser(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.guardPrivilegedTarget(ctx, c, target.ID, target.UserPrincipalName); err != nil {
		return err
	}
	if body.AccountEnabled != nil && !*body.AccountEnabled {
		if err := s.refuseLastGlobalAdmin(ctx, c.TenantID, heldBy(target.ID), "disable "+target.UserPrincipalName); err != nil {
			return err
		}
	}
	if body.MailNickname != nil && !validNickname(*body.MailNickname) {
		return graphBadRequest(op, "The mailNickname may use only letters, digits, '.', '-' and '_', up to 64 characters.")
	}
	var pw *directory.Password
	if body.PasswordProfile != nil {
		// Hash outside the update function, which the store may run more than once.
		p, err := body.PasswordProfile.hash(s)
		if err != nil {
			return err
		}
		pw = &p
	}
	tenant, err := s.Store.GetTenant(ctx, c.TenantID)
	if err != nil {
		return err
	}
	_, err = s.Store.UpdateUser(ctx, c.TenantID, target.ID, func(u directory.User) (directory.User, error) {
		body.apply(&u, pw)
		return u, u.Validate(tenant.DefaultDomain)
	})
	if err != nil {
		return userWriteError(op, target.ID, err)
	}
	noContent(w)
	return nil
}

// apply copies the present fields onto u.
func (p userPatch) apply(u *directory.User, pw *directory.Password) {
	if p.AccountEnabled != nil {
		u.AccountEnabled = *p.AccountEnabled
	}
	if p.DisplayName != nil {
		u.DisplayName = *p.DisplayName
	}
	if p.UserPrincipalName != nil {
		u.UserPrincipalName = strings.TrimSpace(*p.UserPrincipalName)
	}
	if p.Mail != nil {
		u.Mail = *p.Mail
	}
	if p.MailNickname != nil {
		u.MailNickname = *p.MailNickname
	}
	if pw != nil {
		u.Password = *pw
	}
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.deleteUser"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "users", directory.ActionDelete); err != nil {
		return err
	}
	target, err := s.lookupUser(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.guardPrivilegedTarget(ctx, c, target.ID, target.UserPrincipalName); err != nil {
		return err
	}
	if err := s.refuseLastGlobalAdmin(ctx, c.TenantID, heldBy(target.ID), "delete "+target.UserPrincipalName); err != nil {
		return err
	}
	if err := s.Store.DeleteUser(ctx, c.TenantID, target.ID); err != nil {
		return asGraphError(op, target.ID, err)
	}
	if err := s.deleteAssignmentsOf(ctx, c.TenantID, target.ID); err != nil {
		return err
	}
	if err := s.deletePassesOf(r, c.TenantID, target.ID); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// deletePassesOf removes a deleted user's Temporary Access Passes.
func (s *Server) deletePassesOf(r *http.Request, tenantID, userID string) error {
	passes, err := s.Store.ListTemporaryAccessPasses(r.Context(), tenantID, userID)
	if err != nil {
		return err
	}
	for _, p := range passes {
		if err := s.Store.DeleteTemporaryAccessPass(r.Context(), tenantID, p.ID); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return nil
}
