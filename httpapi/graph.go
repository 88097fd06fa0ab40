package httpapi

import (
	"net/http"
	"strings"

	"github.com/latchsh/latch/errs"
)

// graphRoutes registers the Graph-shaped directory API under /v1.0/ (and the beta paths
// clients use for per-user MFA). Every route authenticates, authorizes with directory roles,
// and stays inside the caller's tenant.
func (s *Server) graphRoutes(mux *http.ServeMux) {
	s.graphUserRoutes(mux)
	s.graphGroupRoutes(mux)
	s.graphAppRoutes(mux)
	s.graphRoleRoutes(mux)
	s.graphCARoutes(mux)
	s.graphDeviceRoutes(mux) // graph_devices.go
	mux.HandleFunc("POST /v1.0/directoryObjects/getByIds", s.graph(s.getByIds))
	mux.HandleFunc("GET /v1.0/directoryObjects/{id}", s.graph(s.getDirectoryObject))
	for _, coll := range []string{"users", "groups", "servicePrincipals", "directoryObjects"} {
		mux.HandleFunc("POST /v1.0/"+coll+"/{id}/getMemberGroups", s.graph(s.getMemberGroups(coll)))
		mux.HandleFunc("POST /v1.0/"+coll+"/{id}/checkMemberGroups", s.graph(s.checkMemberGroups(coll)))
	}
}

func (s *Server) graphUserRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1.0/users", s.graph(s.listUsers))
	mux.HandleFunc("POST /v1.0/users", s.graph(s.createUser))
	mux.HandleFunc("GET /v1.0/users/{id}", s.graph(s.getUser))
	mux.HandleFunc("PATCH /v1.0/users/{id}", s.graph(s.updateUser))
	mux.HandleFunc("DELETE /v1.0/users/{id}", s.graph(s.deleteUser))
	mux.HandleFunc("GET /v1.0/me", s.graph(s.getMe))
	mux.HandleFunc("GET /v1.0/me/memberOf", s.graph(s.memberOf("users", false, true)))
	mux.HandleFunc("GET /v1.0/me/transitiveMemberOf", s.graph(s.memberOf("users", true, true)))
	mux.HandleFunc("GET /v1.0/users/{id}/memberOf", s.graph(s.memberOf("users", false, false)))
	mux.HandleFunc("GET /v1.0/users/{id}/transitiveMemberOf", s.graph(s.memberOf("users", true, false)))
	for _, v := range []string{"v1.0", "beta"} {
		mux.HandleFunc("GET /"+v+"/users/{id}/authentication/requirements", s.graph(s.getMFARequirements))
		mux.HandleFunc("PATCH /"+v+"/users/{id}/authentication/requirements", s.graph(s.updateMFARequirements))
		tap := "/" + v + "/users/{id}/authentication/temporaryAccessPassMethods"
		mux.HandleFunc("GET "+tap, s.graph(s.listTAPs))
		mux.HandleFunc("POST "+tap, s.graph(s.createTAP))
		mux.HandleFunc("GET "+tap+"/{methodId}", s.graph(s.getTAP))
		mux.HandleFunc("DELETE "+tap+"/{methodId}", s.graph(s.deleteTAP))
	}
}

func (s *Server) graphGroupRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1.0/groups", s.graph(s.listGroups))
	mux.HandleFunc("POST /v1.0/groups", s.graph(s.createGroup))
	mux.HandleFunc("GET /v1.0/groups/{id}", s.graph(s.getGroup))
	mux.HandleFunc("PATCH /v1.0/groups/{id}", s.graph(s.updateGroup))
	mux.HandleFunc("DELETE /v1.0/groups/{id}", s.graph(s.deleteGroup))
	mux.HandleFunc("GET /v1.0/groups/{id}/members", s.graph(s.membersOf(false)))
	mux.HandleFunc("GET /v1.0/groups/{id}/transitiveMembers", s.graph(s.membersOf(true)))
	mux.HandleFunc("POST /v1.0/groups/{id}/members/$ref", s.graph(s.addMember))
	mux.HandleFunc("DELETE /v1.0/groups/{id}/members/{memberId}/$ref", s.graph(s.removeMember))
	mux.HandleFunc("GET /v1.0/groups/{id}/memberOf", s.graph(s.memberOf("groups", false, false)))
	mux.HandleFunc("GET /v1.0/groups/{id}/transitiveMemberOf", s.graph(s.memberOf("groups", true, false)))
}

func (s *Server) graphAppRoutes(mux *http.ServeMux) {
	for _, v := range []spView{spViewSP, spViewApp} {
		base := "/v1.0/" + v.collection
		mux.HandleFunc("GET "+base, s.graph(s.listSPs(v)))
		mux.HandleFunc("GET "+base+"/{id}", s.graph(s.getSP(v)))
		mux.HandleFunc("DELETE "+base+"/{id}", s.graph(s.deleteSP(v)))
		mux.HandleFunc("POST "+base+"/{id}/addPassword", s.graph(s.addPassword(v)))
		mux.HandleFunc("POST "+base+"/{id}/removePassword", s.graph(s.removePassword(v)))
	}
	mux.HandleFunc("POST /v1.0/servicePrincipals", s.graph(s.createServicePrincipal))
	mux.HandleFunc("PATCH /v1.0/servicePrincipals/{id}", s.graph(s.updateServicePrincipal))
	mux.HandleFunc("GET /v1.0/servicePrincipals/{id}/memberOf", s.graph(s.memberOf("servicePrincipals", false, false)))
	mux.HandleFunc("GET /v1.0/servicePrincipals/{id}/transitiveMemberOf", s.graph(s.memberOf("servicePrincipals", true, false)))
	mux.HandleFunc("POST /v1.0/applications", s.graph(s.createApplication))
	mux.HandleFunc("PATCH /v1.0/applications/{id}", s.graph(s.updateApplication))
}

func (s *Server) graphRoleRoutes(mux *http.ServeMux) {
	const base = "/v1.0/roleManagement/directory/"
	mux.HandleFunc("GET "+base+"roleDefinitions", s.graph(s.listRoleDefinitions))
	mux.HandleFunc("GET "+base+"roleDefinitions/{id}", s.graph(s.getRoleDefinition))
	mux.HandleFunc("GET "+base+"roleAssignments", s.graph(s.listRoleAssignments))
	mux.HandleFunc("POST "+base+"roleAssignments", s.graph(s.createRoleAssignment))
	mux.HandleFunc("GET "+base+"roleAssignments/{id}", s.graph(s.getRoleAssignment))
	mux.HandleFunc("DELETE "+base+"roleAssignments/{id}", s.graph(s.deleteRoleAssignment))
}

// graphNoRoute answers a path or method the Graph API does not have. It runs after
// authentication, so the shape of the API is not revealed to anonymous callers.
func graphNoRoute(w http.ResponseWriter, r *http.Request, c Caller) error {
	return errs.E("httpapi.graphNoRoute", errs.Invalid, errs.Code("BadRequest"),
		"Resource not found for the segment '"+truncate(lastSegment(r.URL.Path), 64)+"' with method "+r.Method+
			"; Latch answers the Graph users, groups, servicePrincipals, applications, devices, directoryObjects and roleManagement APIs.")
}

func lastSegment(p string) string {
	p = strings.TrimRight(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}
