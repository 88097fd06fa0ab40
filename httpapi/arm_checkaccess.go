package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
)

// checkAccessBody is Latch's check-access request: may principalId (the caller when omitted)
// perform action at scope? isDataAction may say how to read the action; when absent, an
// action that some role lists among its dataActions is a data action.
type checkAccessBody struct {
	PrincipalID  string `json:"principalId"`
	Action       string `json:"action"`
	Scope        string `json:"scope"`
	IsDataAction *bool  `json:"isDataAction"`
}

// checkAccess answers {"allowed","reason","matchedAssignments"} with the decision function
// every other route uses. A principal may ask about itself. Asking about another needs
// Microsoft.Authorization/*/read at the scope — except for a machine's managed identity,
// which may ask only whether someone may sign in (as user or administrator) to its own machine,
// and nothing else: that is the question its agent asks at every login.
func checkAccess(q *armRequest) (int, any, error) {
	var b checkAccessBody
	if err := readJSON(q.r, &b); err != nil {
		return 0, nil, err
	}
	scope, err := scopeOf(b.Scope)
	if err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(b.Action) == "" || len(b.Action) > 512 {
		return 0, nil, errs.E("httpapi.checkAccess", errs.Invalid, errs.Code("InvalidAction"), "The action is required and at most 512 characters long.")
	}
	if b.PrincipalID == "" {
		b.PrincipalID = q.caller.ObjectID
	}
	if err := q.mayAsk(b, scope); err != nil {
		return 0, nil, err
	}
	pv, err := q.s.principalView(q.ctx, q.tenantID(), b.PrincipalID)
	if err != nil {
		return 0, nil, err
	}
	isData := pv.index.IsDataAction(b.Action)
	if b.IsDataAction != nil {
		isData = *b.IsDataAction
	}
	d := pv.decide(b.Action, isData, scope)
	if d.Allowed {
		if why := q.s.principalDisabled(q, b.PrincipalID); why != "" {
			d = access.Decision{Reason: "Denied: " + why}
		}
	}
	ids := []string{}
	for _, a := range d.MatchedAssignments {
		ids = append(ids, a.ARMID())
	}
	return http.StatusOK, map[string]any{"allowed": d.Allowed, "reason": d.Reason, "matchedAssignments": ids}, nil
}

// mayAsk applies who may ask what.
func (q *armRequest) mayAsk(b checkAccessBody, scope access.Scope) error {
	const op = "httpapi.checkAccess"
	if vm, ok, err := q.s.managedResource(q); err != nil {
		return err
	} else if ok {
		login := strings.EqualFold(b.Action, access.ActionVMLogin) || strings.EqualFold(b.Action, access.ActionVMLoginAsAdmin)
		if !login || !scopeOrZero(vm).Equal(scope) {
			return errs.E(op, errs.PermissionDenied, errs.Code("AuthorizationFailed"), fmt.Sprintf(
				"The managed identity of '%s' may only check sign-in (%s or %s) to its own machine.",
				vm, access.ActionVMLogin, access.ActionVMLoginAsAdmin))
		}
		return nil
	}
	if strings.EqualFold(b.PrincipalID, q.caller.ObjectID) {
		return nil
	}
	if !directory.IsGUID(b.PrincipalID) {
		return errs.E(op, errs.Invalid, access.CodeInvalidPrincipalID, "The principalId must be an object id (a GUID).")
	}
	return q.authz.require("Microsoft.Authorization/roleAssignments/read", scope)
}

// managedResource returns the resource id of the caller when it is a managed identity.
func (s *Server) managedResource(q *armRequest) (string, bool, error) {
	if q.caller.PrincipalType == token.PrincipalUser {
		return "", false, nil
	}
	sp, err := s.Store.GetServicePrincipal(q.ctx, q.tenantID(), q.caller.ObjectID)
	if err != nil {
		return "", false, err
	}
	return sp.ManagedResourceID, sp.Type == directory.SPManagedIdentity && sp.ManagedResourceID != "", nil
}

// principalDisabled says why a principal whose roles would allow may still not act: it is a
// disabled or deleted account. "" when it is enabled or a group.
func (s *Server) principalDisabled(q *armRequest, id string) string {
	if u, err := s.Store.GetUser(q.ctx, q.tenantID(), id); err == nil {
		if !u.AccountEnabled {
			return "the account " + u.UserPrincipalName + " is disabled."
		}
		return ""
	}
	if sp, err := s.Store.GetServicePrincipal(q.ctx, q.tenantID(), id); err == nil {
		if !sp.AccountEnabled {
			return "the service principal " + sp.DisplayName + " is disabled."
		}
		return ""
	}
	if _, err := s.Store.GetGroup(q.ctx, q.tenantID(), id); err == nil {
		return ""
	}
	return "no user, group or service principal with id " + truncate(id, 64) + " exists in this directory."
}
