package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// groupJSON is Graph's group resource. Latch's groups are security groups without mail.
func groupJSON(g directory.Group) map[string]any {
	return map[string]any{
		"@odata.type":     "#microsoft.graph.group",
		"id":              g.ID,
		"displayName":     g.DisplayName,
		"description":     nullIfEmpty(g.Description),
		"mailNickname":    g.MailNickname,
		"mail":            nil,
		"mailEnabled":     false,
		"securityEnabled": g.SecurityEnabled,
		"groupTypes":      []string{},
		"createdDateTime": graphTime(g.Created),
	}
}

func (s *Server) lookupGroup(ctx context.Context, tenantID, id string) (directory.Group, error) {
	if !directory.IsGUID(id) {
		return directory.Group{}, graphNotFound("httpapi.lookupGroup", id)
	}
	g, err := s.Store.GetGroup(ctx, tenantID, strings.ToLower(id))
	return g, asGraphError("httpapi.lookupGroup", id, err)
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "groups"); err != nil {
		return err
	}
	q, err := parseGraphQuery(r, groupFilterSchema, groupJSON(directory.Group{}))
	if err != nil {
		return err
	}
	groups, err := s.Store.ListGroups(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	objs := make([]map[string]any, len(groups))
	for i, g := range groups {
		objs[i] = groupJSON(g)
	}
	s.writeGraphList(w, r, "groups", objs, q)
	return nil
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "groups"); err != nil {
		return err
	}
	g, err := s.lookupGroup(r.Context(), c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusOK, "groups", groupJSON(g))
}

// groupCreate is the body of POST /groups, with Graph's field names.
type groupCreate struct {
	DisplayName     string   `json:"displayName"`
	MailNickname    string   `json:"mailNickname"`
	Description     string   `json:"description"`
	MailEnabled     *bool    `json:"mailEnabled"`
	SecurityEnabled *bool    `json:"securityEnabled"`
	GroupTypes      []string `json:"groupTypes"`
	MembersBind     []string `json:"members@odata.bind"`
}

// maxBindOnCreate is Graph's limit on members@odata.bind in one request.
const maxBindOnCreate = 20

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.createGroup"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "groups", directory.ActionCreate); err != nil {
		return err
	}
	var body groupCreate
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	g, err := s.newGroupFrom(ctx, c, body)
	if err != nil {
		return err
	}
	if err := s.Store.CreateGroup(ctx, g); err != nil {
		return groupWriteError(op, g.ID, err)
	}
	if g, err = s.Store.GetGroup(ctx, c.TenantID, g.ID); err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusCreated, "groups", groupJSON(g))
}

// newGroupFrom validates a create body into a security group of the caller's tenant.
func (s *Server) newGroupFrom(ctx context.Context, c Caller, body groupCreate) (directory.Group, error) {
	const op = "httpapi.createGroup"
	if body.MailEnabled != nil && *body.MailEnabled || len(body.GroupTypes) > 0 {
		return directory.Group{}, graphBadRequest(op, "Latch holds security groups only: set mailEnabled to false and leave groupTypes empty.")
	}
	if body.SecurityEnabled != nil && !*body.SecurityEnabled {
		return directory.Group{}, graphBadRequest(op, "Latch holds security groups only: set securityEnabled to true.")
	}
	if len(body.MembersBind) > maxBindOnCreate {
		return directory.Group{}, graphBadRequest(op, "At most 20 members can be added with members@odata.bind in one request; add the rest with members/$ref.")
	}
	g := directory.Group{ID: newID(), TenantID: c.TenantID, DisplayName: body.DisplayName,
		MailNickname: body.MailNickname, Description: body.Description, SecurityEnabled: true}
	if len(body.MembersBind) > 0 {
		ix, err := s.loadIndex(ctx, c.TenantID)
		if err != nil {
			return g, err
		}
		for _, ref := range body.MembersBind {
			id, err := ix.resolveRef(ref)
			if err != nil {
				return g, err
			}
			if !containsString(g.Members, id) {
				g.Members = append(g.Members, id)
			}
		}
	}
	return g, asGraphError(op, "", g.Validate())
}

// groupPatch is the body of PATCH /groups/{id}.
type groupPatch struct {
	DisplayName     *string `json:"displayName"`
	MailNickname    *string `json:"mailNickname"`
	Description     *string `json:"description"`
	SecurityEnabled *bool   `json:"securityEnabled"`
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.updateGroup"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "groups", directory.ActionUpdate); err != nil {
		return err
	}
	var body groupPatch
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	if body.SecurityEnabled != nil && !*body.SecurityEnabled {
		return graphBadRequest(op, "Latch holds security groups only: securityEnabled stays true.")
	}
	g, err := s.lookupGroup(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.guardPrivilegedTarget(ctx, c, g.ID, g.DisplayName); err != nil {
		return err
	}
	_, err = s.Store.UpdateGroup(ctx, c.TenantID, g.ID, func(g directory.Group) (directory.Group, error) {
		body.apply(&g)
		return g, g.Validate()
	})
	if err != nil {
		return groupWriteError(op, g.ID, err)
	}
	noContent(w)
	return nil
}

func (p groupPatch) apply(g *directory.Group) {
	if p.DisplayName != nil {
		g.DisplayName = *p.DisplayName
	}
	if p.MailNickname != nil {
		g.MailNickname = *p.MailNickname
	}
	if p.Description != nil {
		g.Description = *p.Description
	}
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.deleteGroup"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "groups", directory.ActionDelete); err != nil {
		return err
	}
	g, err := s.lookupGroup(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.guardPrivilegedTarget(ctx, c, g.ID, g.DisplayName); err != nil {
		return err
	}
	if err := s.refuseLastGlobalAdmin(ctx, c.TenantID, heldBy(g.ID), "delete the group '"+g.DisplayName+"'"); err != nil {
		return err
	}
	if err := s.Store.DeleteGroup(ctx, c.TenantID, g.ID); err != nil {
		return asGraphError(op, g.ID, err)
	}
	if err := s.deleteAssignmentsOf(ctx, c.TenantID, g.ID); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// groupWriteError turns the store's Exists into Graph's 400 for a taken mailNickname.
func groupWriteError(op, id string, err error) error {
	if errs.Is(err, errs.Exists) {
		return graphBadRequest(op, "Another object with the same value for property mailNickname already exists.")
	}
	return asGraphError(op, id, err)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
