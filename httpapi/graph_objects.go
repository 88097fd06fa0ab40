package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
)

// dirIndex is one tenant's users, groups and service principals by object id, for the
// routes that mix object types (members, memberOf, getByIds).
type dirIndex struct {
	users     map[string]directory.User
	groups    map[string]directory.Group
	sps       map[string]directory.ServicePrincipal
	groupList []directory.Group
}

func (s *Server) loadIndex(ctx context.Context, tenantID string) (*dirIndex, error) {
	users, err := s.Store.ListUsers(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	groups, err := s.Store.ListGroups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	sps, err := s.Store.ListServicePrincipals(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ix := &dirIndex{users: map[string]directory.User{}, groups: map[string]directory.Group{},
		sps: map[string]directory.ServicePrincipal{}, groupList: groups}
	for _, u := range users {
		ix.users[u.ID] = u
	}
	for _, g := range groups {
		ix.groups[g.ID] = g
	}
	for _, sp := range sps {
		ix.sps[sp.ID] = sp
	}
	return ix, nil
}

// objectJSON is the Graph JSON of any object in the index, with its @odata.type.
func (ix *dirIndex) objectJSON(id string) (map[string]any, bool) {
	if u, ok := ix.users[id]; ok {
		return userJSON(u), true
	}
	if g, ok := ix.groups[id]; ok {
		return groupJSON(g), true
	}
	if sp, ok := ix.sps[id]; ok {
		return servicePrincipalJSON(sp), true
	}
	return nil, false
}

// objectsJSON maps ids to Graph JSON, skipping ids no longer in the directory.
func (ix *dirIndex) objectsJSON(ids []string) []map[string]any {
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		if o, ok := ix.objectJSON(id); ok {
			out = append(out, o)
		}
	}
	return out
}

// directGroups lists the groups that have id as a direct member.
func (ix *dirIndex) directGroups(id string) []string {
	var out []string
	for _, g := range ix.groupList {
		for _, m := range g.Members {
			if m == id {
				out = append(out, g.ID)
				break
			}
		}
	}
	return out
}

// resolveInCollection finds the object id that {id} names within collection ("users" also
// accepts a UPN, "servicePrincipals" an appId), or Request_ResourceNotFound.
func (s *Server) resolveInCollection(ctx context.Context, c Caller, collection, id string) (string, error) {
	switch collection {
	case "users":
		u, err := s.lookupUser(ctx, c.TenantID, id)
		return u.ID, err
	case "groups":
		g, err := s.lookupGroup(ctx, c.TenantID, id)
		return g.ID, err
	case "servicePrincipals":
		sp, err := s.lookupServicePrincipal(ctx, c.TenantID, id)
		return sp.ID, err
	}
	return "", graphNotFound("httpapi.resolveInCollection", id)
}

// memberOf serves /{collection}/{id}/memberOf and …/transitiveMemberOf; with me set it serves
// /me/… for the signed-in user.
func (s *Server) memberOf(collection string, transitive, me bool) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		ctx := r.Context()
		if err := s.authorizeRead(ctx, c, "groups"); err != nil {
			return err
		}
		q, err := parseGraphQuery(r, groupFilterSchema, groupJSON(directory.Group{}))
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		if me {
			if c.PrincipalType != token.PrincipalUser {
				return errs.E("httpapi.memberOf", errs.Invalid, errs.Code("BadRequest"), "/me request is only valid with delegated authentication flow.")
			}
			id = c.ObjectID
		}
		if id, err = s.resolveInCollection(ctx, c, collection, id); err != nil {
			return err
		}
		ix, err := s.loadIndex(ctx, c.TenantID)
		if err != nil {
			return err
		}
		groups := ix.directGroups(id)
		if transitive {
			groups = directory.TransitiveGroups(id, ix.groupList)
		}
		s.writeGraphList(w, r, "directoryObjects", ix.objectsJSON(groups), q)
		return nil
	}
}

// getByIdsBody is the body of POST /directoryObjects/getByIds.
type getByIdsBody struct {
	IDs   []string `json:"ids"`
	Types []string `json:"types"`
}

const maxGetByIds = 1000

// graphObjectTypes are the type names getByIds accepts; the ones mapped to false name
// objects Latch does not hold, so they match nothing.
var graphObjectTypes = map[string]bool{"user": true, "group": true, "serviceprincipal": true,
	"application": true, "device": false, "orgcontact": false, "directoryrole": false,
	"directoryobjectpartnerreference": false, "administrativeunit": false}

func (s *Server) getByIds(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.getByIds"
	ctx := r.Context()
	if err := s.authorizeRead(ctx, c, "directoryObjects"); err != nil {
		return err
	}
	var body getByIdsBody
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	if len(body.IDs) == 0 || len(body.IDs) > maxGetByIds {
		return graphBadRequest(op, fmt.Sprintf("Property 'ids' must list 1 to %d object ids.", maxGetByIds))
	}
	want, err := wantedTypes(body.Types)
	if err != nil {
		return err
	}
	ix, err := s.loadIndex(ctx, c.TenantID)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, id := range body.IDs {
		if o, ok := ix.typedJSON(strings.ToLower(id), want); ok {
			out = append(out, o)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.odataContext(r, "directoryObjects"), "value": out})
	return nil
}

// wantedTypes validates getByIds' types; none means every type.
func wantedTypes(types []string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, t := range types {
		lt := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(t, "#"), "microsoft.graph."))
		if _, known := graphObjectTypes[lt]; !known {
			return nil, graphBadRequest("httpapi.getByIds", fmt.Sprintf("'%s' is not a directory object type.", truncate(t, 64)))
		}
		want[lt] = true
	}
	if len(types) == 0 {
		for t := range graphObjectTypes {
			want[t] = true
		}
	}
	return want, nil
}

// typedJSON is the object with id if its type is wanted. An app record answers as a service
// principal when that is wanted, else as an application.
func (ix *dirIndex) typedJSON(id string, want map[string]bool) (map[string]any, bool) {
	if u, ok := ix.users[id]; ok && want["user"] {
		return userJSON(u), true
	}
	if g, ok := ix.groups[id]; ok && want["group"] {
		return groupJSON(g), true
	}
	sp, ok := ix.sps[id]
	switch {
	case ok && want["serviceprincipal"]:
		return servicePrincipalJSON(sp), true
	case ok && want["application"] && isAppRegistration(sp):
		return applicationJSON(sp), true
	}
	return nil, false
}
