package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
)

// Membership questions asked of any directory object, as Graph's getMemberGroups and
// checkMemberGroups answer them: transitively, through nested groups.

const maxCheckGroups = 20 // Graph's limit on groupIds in one checkMemberGroups

type getMemberGroupsBody struct {
	SecurityEnabledOnly bool `json:"securityEnabledOnly"`
}

type checkMemberGroupsBody struct {
	GroupIDs []string `json:"groupIds"`
}

// memberGroupsOf resolves {id} in collection ("directoryObjects" takes any object) and
// returns its transitive groups.
func (s *Server) memberGroupsOf(r *http.Request, c Caller, collection string) ([]string, error) {
	ctx := r.Context()
	if err := s.authorizeRead(ctx, c, "groups"); err != nil {
		return nil, err
	}
	ix, err := s.loadIndex(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	id := strings.ToLower(r.PathValue("id"))
	if collection == "directoryObjects" {
		if _, ok := ix.objectJSON(id); !ok {
			return nil, graphNotFound("httpapi.memberGroupsOf", r.PathValue("id"))
		}
	} else if id, err = s.resolveInCollection(ctx, c, collection, r.PathValue("id")); err != nil {
		return nil, err
	}
	return directory.TransitiveGroups(id, ix.groupList), nil
}

// getMemberGroups serves POST /{collection}/{id}/getMemberGroups. Every Latch group is a
// security group, so securityEnabledOnly changes nothing.
func (s *Server) getMemberGroups(collection string) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		var body getMemberGroupsBody
		if err := readGraphJSON(r, &body); err != nil {
			return err
		}
		groups, err := s.memberGroupsOf(r, c, collection)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.odataContext(r, "Collection(Edm.String)"), "value": nonNil(groups)})
		return nil
	}
}

// checkMemberGroups serves POST /{collection}/{id}/checkMemberGroups: which of groupIds the
// object belongs to.
func (s *Server) checkMemberGroups(collection string) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		var body checkMemberGroupsBody
		if err := readGraphJSON(r, &body); err != nil {
			return err
		}
		if len(body.GroupIDs) == 0 || len(body.GroupIDs) > maxCheckGroups {
			return graphBadRequest("httpapi.checkMemberGroups", fmt.Sprintf("Property 'groupIds' must list 1 to %d group ids.", maxCheckGroups))
		}
		groups, err := s.memberGroupsOf(r, c, collection)
		if err != nil {
			return err
		}
		out := []string{}
		for _, id := range body.GroupIDs {
			if containsString(groups, strings.ToLower(id)) {
				out = append(out, id)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.odataContext(r, "Collection(Edm.String)"), "value": out})
		return nil
	}
}

// getDirectoryObject serves GET /directoryObjects/{id}: any user, group or service
// principal of the tenant, with its @odata.type.
func (s *Server) getDirectoryObject(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "directoryObjects"); err != nil {
		return err
	}
	ix, err := s.loadIndex(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	o, ok := ix.objectJSON(strings.ToLower(r.PathValue("id")))
	if !ok {
		return graphNotFound("httpapi.getDirectoryObject", r.PathValue("id"))
	}
	return s.writeGraphEntity(w, r, http.StatusOK, "directoryObjects", o)
}
