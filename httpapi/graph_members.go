package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/latchsh/latch/directory"
)

// Group membership: list (direct or transitive), add by reference, remove by reference.
// Members may be users, groups or service principals of the same tenant; nested groups may
// form cycles, which the transitive walks in package directory stop at.

// membersOf serves GET /groups/{id}/members and …/transitiveMembers.
func (s *Server) membersOf(transitive bool) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		ctx := r.Context()
		if err := s.authorizeRead(ctx, c, "groups"); err != nil {
			return err
		}
		q, err := parseGraphQuery(r, directoryObjectFilterSchema, directoryObjectSample())
		if err != nil {
			return err
		}
		g, err := s.lookupGroup(ctx, c.TenantID, r.PathValue("id"))
		if err != nil {
			return err
		}
		ix, err := s.loadIndex(ctx, c.TenantID)
		if err != nil {
			return err
		}
		ids := g.Members
		if transitive {
			ids = directory.TransitiveMembers(g.ID, ix.groupList)
		}
		s.writeGraphList(w, r, "directoryObjects", ix.objectsJSON(ids), q)
		return nil
	}
}

// directoryObjectSample has every property a mixed list may select.
func directoryObjectSample() map[string]any {
	m := map[string]any{}
	for _, o := range []map[string]any{userJSON(directory.User{}), groupJSON(directory.Group{}),
		servicePrincipalJSON(directory.ServicePrincipal{})} {
		for k, v := range o {
			m[k] = v
		}
	}
	m["@odata.type"] = "#microsoft.graph.directoryObject"
	return m
}

// memberRef is the body of POST …/members/$ref.
type memberRef struct {
	ODataID string `json:"@odata.id"`
}

const msgMemberExists = "One or more added object references already exist for the following modified properties: 'members'."

func (s *Server) addMember(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.addMember"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "groups", directory.ActionUpdate); err != nil {
		return err
	}
	var body memberRef
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	g, err := s.lookupGroup(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	ix, err := s.loadIndex(ctx, c.TenantID)
	if err != nil {
		return err
	}
	member, err := ix.resolveRef(body.ODataID)
	if err != nil {
		return err
	}
	if err := s.guardPrivilegedTarget(ctx, c, g.ID, g.DisplayName); err != nil {
		return err
	}
	_, err = s.Store.UpdateGroup(ctx, c.TenantID, g.ID, func(g directory.Group) (directory.Group, error) {
		if containsString(g.Members, member) {
			return g, graphBadRequest(op, msgMemberExists)
		}
		g.Members = append(g.Members, member)
		return g, asGraphError(op, "", g.Validate())
	})
	if err != nil {
		return asGraphError(op, g.ID, err)
	}
	noContent(w)
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.removeMember"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "groups", directory.ActionUpdate); err != nil {
		return err
	}
	g, err := s.lookupGroup(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.guardPrivilegedTarget(ctx, c, g.ID, g.DisplayName); err != nil {
		return err
	}
	member := strings.ToLower(r.PathValue("memberId"))
	_, err = s.Store.UpdateGroup(ctx, c.TenantID, g.ID, func(g directory.Group) (directory.Group, error) {
		kept := g.Members[:0:0]
		for _, m := range g.Members {
			if m != member {
				kept = append(kept, m)
			}
		}
		if len(kept) == len(g.Members) {
			return g, graphNotFound(op, r.PathValue("memberId"))
		}
		g.Members = kept
		return g, nil
	})
	if err != nil {
		return asGraphError(op, g.ID, err)
	}
	noContent(w)
	return nil
}

// resolveRef reads an @odata.id — any URL whose path ends in /directoryObjects/{id} (or
// /users/, /groups/, /servicePrincipals/) — and returns the id of an object of the tenant
// in that collection.
func (ix *dirIndex) resolveRef(ref string) (string, error) {
	const op = "httpapi.resolveRef"
	bad := graphBadRequest(op, "The @odata.id must be a URL ending in /directoryObjects/{id}, e.g. https://graph.microsoft.com/v1.0/directoryObjects/{id}.")
	u, err := url.Parse(ref)
	if err != nil || len(ref) > 2048 {
		return "", bad
	}
	segs := strings.Split(strings.TrimRight(u.Path, "/"), "/")
	if len(segs) < 2 || !directory.IsGUID(segs[len(segs)-1]) {
		return "", bad
	}
	id := strings.ToLower(segs[len(segs)-1])
	var found bool
	switch strings.ToLower(segs[len(segs)-2]) {
	case "directoryobjects":
		_, found = ix.objectJSON(id)
	case "users":
		_, found = ix.users[id]
	case "groups":
		_, found = ix.groups[id]
	case "serviceprincipals":
		_, found = ix.sps[id]
	default:
		return "", bad
	}
	if !found {
		return "", graphNotFound(op, id)
	}
	return id, nil
}
