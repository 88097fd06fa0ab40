package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// graphCARoutes registers Conditional Access: policies, named locations, authentication
// strengths (the built-ins and the tenant's own), the sign-in log and Latch's what-if.
func (s *Server) graphCARoutes(mux *http.ServeMux) {
	caRoutes(s, mux, caBase+"policies", caPolicyCollection)
	caRoutes(s, mux, caBase+"namedLocations", caLocationCollection)
	caRoutes(s, mux, caBase+"authenticationStrength/policies", caStrengthCollection)
	mux.HandleFunc("GET /v1.0/auditLogs/signIns", s.graph(s.listSignIns))
	mux.HandleFunc("POST "+caBase+"evaluate", s.graph(s.evaluateCA))
}

var caPolicyCollection = caCollection[conditional.Policy]{
	entitySet: "identity/conditionalAccess/policies", permission: "conditionalAccessPolicies",
	schema: newFilterSchema("conditionalAccessPolicy", map[string]filterKind{"id": filterString,
		"displayName": filterString, "state": filterString}),
	parse: conditional.ParsePolicy,
	stamp: func(p *conditional.Policy, id string, created, modified time.Time) {
		p.ID, p.Created, p.Modified = id, created.UTC(), modified.UTC()
	},
	idOf:      func(p conditional.Policy) string { return p.ID },
	createdOf: func(p conditional.Policy) time.Time { return p.Created },
	check:     checkPolicyRefs,
	create:    store.Store.CreateConditionalAccessPolicy, get: store.Store.GetConditionalAccessPolicy,
	list: store.Store.ListConditionalAccessPolicies, update: store.Store.UpdateConditionalAccessPolicy,
	remove: store.Store.DeleteConditionalAccessPolicy,
}

var caLocationCollection = caCollection[conditional.NamedLocation]{
	entitySet: "identity/conditionalAccess/namedLocations", permission: "namedLocations",
	schema: newFilterSchema("namedLocation", map[string]filterKind{"id": filterString,
		"displayName": filterString}),
	parse: conditional.ParseNamedLocation,
	stamp: func(l *conditional.NamedLocation, id string, created, modified time.Time) {
		l.ID, l.Created, l.Modified = id, created.UTC(), modified.UTC()
	},
	idOf:      func(l conditional.NamedLocation) string { return l.ID },
	createdOf: func(l conditional.NamedLocation) time.Time { return l.Created },
	create:    store.Store.CreateNamedLocation, get: store.Store.GetNamedLocation,
	list: store.Store.ListNamedLocations, update: store.Store.UpdateNamedLocation,
	remove: store.Store.DeleteNamedLocation,
}

// caStrengthCollection is guarded by the policies' permission: in Entra the Conditional
// Access Administrator manages authentication strengths with the policies that use them.
var caStrengthCollection = caCollection[conditional.Strength]{
	entitySet: "identity/conditionalAccess/authenticationStrength/policies", permission: "conditionalAccessPolicies",
	schema: newFilterSchema("authenticationStrengthPolicy", map[string]filterKind{"id": filterString,
		"displayName": filterString, "policyType": filterString}),
	parse: conditional.ParseStrength,
	stamp: func(st *conditional.Strength, id string, created, modified time.Time) {
		st.ID, st.Created, st.Modified = id, created.UTC(), modified.UTC()
	},
	idOf:      func(st conditional.Strength) string { return st.ID },
	createdOf: func(st conditional.Strength) time.Time { return st.Created },
	create:    store.Store.CreateAuthenticationStrength, get: store.Store.GetAuthenticationStrength,
	list: store.Store.ListAuthenticationStrengths, update: store.Store.UpdateAuthenticationStrength,
	remove:   store.Store.DeleteAuthenticationStrength,
	builtIns: conditional.BuiltInStrengths,
}

// checkPolicyRefs refuses a policy naming a location or strength the tenant does not have:
// Graph answers 400 rather than storing a policy that could never match as written.
func checkPolicyRefs(ctx context.Context, s *Server, tenantID string, p conditional.Policy) error {
	const op = "httpapi.checkPolicyRefs"
	if l := p.Conditions.Locations; l != nil {
		for _, id := range slices.Concat(l.IncludeLocations, l.ExcludeLocations) {
			if id == conditional.All || id == conditional.AllTrusted {
				continue
			}
			if _, err := s.Store.GetNamedLocation(ctx, tenantID, id); err != nil {
				return refError(op, "named location", id, err)
			}
		}
	}
	if g := p.GrantControls; g != nil && g.AuthenticationStrength != nil {
		id := g.AuthenticationStrength.ID
		if _, err := caStrengthCollection.find(ctx, s, tenantID, id); err != nil {
			return refError(op, "authentication strength", id, err)
		}
	}
	return nil
}

// refError turns a failed lookup of a referenced object into Graph's 400.
func refError(op, what, id string, err error) error {
	if errs.Is(err, errs.NotFound) {
		return graphBadRequest(op, "The policy names the "+what+" '"+truncate(id, 64)+"', which does not exist in this tenant.")
	}
	return err
}
