package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/token"
)

// A user's authentication settings: per-user MFA state and Temporary Access Passes. Unlike
// the rest of the directory these are not readable by every user: a person sees their own,
// and otherwise a directory role allowing microsoft.directory/users/read is needed, as Entra
// limits them to administrators.

// authorizeMethodsRead lets the user read their own methods and role holders read anyone's.
func (s *Server) authorizeMethodsRead(ctx context.Context, c Caller, userID string) error {
	if c.PrincipalType == token.PrincipalUser && c.ObjectID == userID {
		return nil
	}
	return s.authorizeDirectory(ctx, c, directory.Action("users", directory.ActionRead))
}

// authMethodsTarget resolves {id} and checks the caller may change its methods.
func (s *Server) authMethodsTarget(r *http.Request, c Caller) (directory.User, error) {
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "users", directory.ActionUpdate); err != nil {
		return directory.User{}, err
	}
	u, err := s.lookupUser(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return u, err
	}
	return u, s.guardPrivilegedTarget(ctx, c, u.ID, u.UserPrincipalName)
}

var mfaStateNames = map[directory.MFAState]string{directory.MFADisabled: "disabled",
	directory.MFAEnabled: "enabled", directory.MFAEnforced: "enforced"}

func (s *Server) getMFARequirements(w http.ResponseWriter, r *http.Request, c Caller) error {
	u, err := s.lookupUser(r.Context(), c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.authorizeMethodsRead(r.Context(), c, u.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context":  s.odataContext(r, "users('"+u.ID+"')/authentication/requirements/$entity"),
		"perUserMfaState": mfaStateNames[u.MFA],
	})
	return nil
}

type mfaRequirementsBody struct {
	PerUserMfaState string `json:"perUserMfaState"`
}

func (s *Server) updateMFARequirements(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.updateMFARequirements"
	u, err := s.authMethodsTarget(r, c)
	if err != nil {
		return err
	}
	var body mfaRequirementsBody
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	state, ok := directory.MFAState("!"), false
	for st, name := range mfaStateNames {
		if strings.EqualFold(name, body.PerUserMfaState) {
			state, ok = st, true
		}
	}
	if !ok {
		return graphBadRequest(op, "perUserMfaState must be 'disabled', 'enabled' or 'enforced'.")
	}
	_, err = s.Store.UpdateUser(r.Context(), c.TenantID, u.ID, func(u directory.User) (directory.User, error) {
		u.MFA = state
		return u, nil
	})
	if err != nil {
		return asGraphError(op, u.ID, err)
	}
	noContent(w)
	return nil
}

// tapJSON is Graph's temporaryAccessPassAuthenticationMethod; the pass itself appears only
// in the answer to its creation.
func tapJSON(p authn.TemporaryAccessPass, now time.Time) map[string]any {
	reason := "EnabledByPolicy"
	switch {
	case p.OneTime && p.Used:
		reason = "OneTimeUsed"
	case now.Before(p.Start):
		reason = "NotYetValid"
	case !now.Before(p.End):
		reason = "Expired"
	}
	return map[string]any{
		"@odata.type":           "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
		"id":                    p.ID,
		"isUsable":              reason == "EnabledByPolicy",
		"methodUsabilityReason": reason,
		"temporaryAccessPass":   nil,
		"createdDateTime":       graphTime(p.Created),
		"startDateTime":         graphTime(p.Start),
		"lifetimeInMinutes":     int(p.End.Sub(p.Start) / time.Minute),
		"isUsableOnce":          p.OneTime,
	}
}

const tapSet = "users/authentication/temporaryAccessPassMethods"

func (s *Server) listTAPs(w http.ResponseWriter, r *http.Request, c Caller) error {
	u, err := s.lookupUser(r.Context(), c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.authorizeMethodsRead(r.Context(), c, u.ID); err != nil {
		return err
	}
	passes, err := s.Store.ListTemporaryAccessPasses(r.Context(), c.TenantID, u.ID)
	if err != nil {
		return err
	}
	objs := make([]map[string]any, len(passes))
	for i, p := range passes {
		objs[i] = tapJSON(p, s.now())
	}
	s.writeGraphList(w, r, tapSet, objs, graphQuery{})
	return nil
}

func (s *Server) getTAP(w http.ResponseWriter, r *http.Request, c Caller) error {
	u, err := s.lookupUser(r.Context(), c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.authorizeMethodsRead(r.Context(), c, u.ID); err != nil {
		return err
	}
	p, err := s.findTAP(r.Context(), c.TenantID, u.ID, r.PathValue("methodId"))
	if err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusOK, tapSet, tapJSON(p, s.now()))
}

// findTAP finds one of the user's passes; another user's pass id is not found.
func (s *Server) findTAP(ctx context.Context, tenantID, userID, id string) (authn.TemporaryAccessPass, error) {
	passes, err := s.Store.ListTemporaryAccessPasses(ctx, tenantID, userID)
	if err != nil {
		return authn.TemporaryAccessPass{}, err
	}
	for _, p := range passes {
		if strings.EqualFold(p.ID, id) {
			return p, nil
		}
	}
	return authn.TemporaryAccessPass{}, graphNotFound("httpapi.findTAP", id)
}

func (s *Server) deleteTAP(w http.ResponseWriter, r *http.Request, c Caller) error {
	u, err := s.authMethodsTarget(r, c)
	if err != nil {
		return err
	}
	p, err := s.findTAP(r.Context(), c.TenantID, u.ID, r.PathValue("methodId"))
	if err != nil {
		return err
	}
	if err := s.Store.DeleteTemporaryAccessPass(r.Context(), c.TenantID, p.ID); err != nil {
		return asGraphError("httpapi.deleteTAP", p.ID, err)
	}
	noContent(w)
	return nil
}
