package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Latch keeps an application registration and its service principal as one record, so
// /servicePrincipals and /applications are two views of the same objects: the service
// principal view under its object id, the application view (app registrations only, not
// managed identities or the well-known sign-in applications) under the same id.

// servicePrincipalJSON is Graph's servicePrincipal resource; secrets show only their hints.
func servicePrincipalJSON(sp directory.ServicePrincipal) map[string]any {
	o := map[string]any{
		"@odata.type":            "#microsoft.graph.servicePrincipal",
		"id":                     sp.ID,
		"appId":                  sp.AppID,
		"displayName":            sp.DisplayName,
		"appDisplayName":         sp.DisplayName,
		"accountEnabled":         sp.AccountEnabled,
		"servicePrincipalType":   nullIfEmpty(sp.Type),
		"servicePrincipalNames":  nonNil(sp.ServicePrincipalNames),
		"appOwnerOrganizationId": nullIfEmpty(sp.TenantID),
		"replyUrls":              nonNil(sp.RedirectURIs),
		"alternativeNames":       []string{},
		"passwordCredentials":    passwordCredentialsJSON(sp.PasswordCredentials),
		"keyCredentials":         keyCredentialsJSON(sp.KeyCredentials),
	}
	if sp.ManagedResourceID != "" {
		o["alternativeNames"] = []string{"isExplicit=False", sp.ManagedResourceID}
	}
	return o
}

// applicationJSON is Graph's application resource for an app registration.
func applicationJSON(sp directory.ServicePrincipal) map[string]any {
	web, public := []string{}, []string{}
	if sp.PublicClient {
		public = nonNil(sp.RedirectURIs)
	} else {
		web = nonNil(sp.RedirectURIs)
	}
	return map[string]any{
		"@odata.type":            "#microsoft.graph.application",
		"id":                     sp.ID,
		"appId":                  sp.AppID,
		"displayName":            sp.DisplayName,
		"createdDateTime":        graphTime(sp.Created),
		"signInAudience":         "AzureADMyOrg",
		"isFallbackPublicClient": sp.PublicClient,
		"identifierUris":         []string{},
		"web":                    map[string]any{"redirectUris": web},
		"publicClient":           map[string]any{"redirectUris": public},
		"passwordCredentials":    passwordCredentialsJSON(sp.PasswordCredentials),
		"keyCredentials":         keyCredentialsJSON(sp.KeyCredentials),
	}
}

// passwordCredentialsJSON shows client secrets without their hashes; secretText is only
// ever returned by addPassword.
func passwordCredentialsJSON(creds []directory.PasswordCredential) []map[string]any {
	out := make([]map[string]any, len(creds))
	for i, c := range creds {
		out[i] = map[string]any{"keyId": c.KeyID, "displayName": nullIfEmpty(c.DisplayName), "hint": c.Hint,
			"startDateTime": graphTime(c.Start), "endDateTime": graphTime(c.End), "customKeyIdentifier": nil, "secretText": nil}
	}
	return out
}

// keyCredentialsJSON shows public keys' metadata; like Graph, the key itself is omitted.
func keyCredentialsJSON(creds []directory.KeyCredential) []map[string]any {
	out := make([]map[string]any, len(creds))
	for i, c := range creds {
		out[i] = map[string]any{"keyId": c.KeyID, "displayName": nullIfEmpty(c.DisplayName), "type": c.Type,
			"usage": c.Usage, "customKeyIdentifier": nullIfEmpty(c.Thumbprint), "key": nil,
			"startDateTime": graphTime(c.Start), "endDateTime": graphTime(c.End)}
	}
	return out
}

// isAppRegistration reports whether a record has an application view: not a managed
// identity, and not one of the sign-in applications every tenant is given.
func isAppRegistration(sp directory.ServicePrincipal) bool {
	if sp.Type == directory.SPManagedIdentity {
		return false
	}
	for _, app := range directory.WellKnownApps {
		if strings.EqualFold(app.AppID, sp.AppID) {
			return false
		}
	}
	return true
}

// lookupServicePrincipal finds a record of the tenant by object id or, as az falls back to,
// by appId.
func (s *Server) lookupServicePrincipal(ctx context.Context, tenantID, id string) (directory.ServicePrincipal, error) {
	const op = "httpapi.lookupServicePrincipal"
	if !directory.IsGUID(id) {
		return directory.ServicePrincipal{}, graphNotFound(op, id)
	}
	sp, err := s.Store.GetServicePrincipal(ctx, tenantID, strings.ToLower(id))
	if errs.Is(err, errs.NotFound) {
		sp, err = s.Store.GetServicePrincipalByAppID(ctx, tenantID, strings.ToLower(id))
	}
	return sp, asGraphError(op, id, err)
}

// lookupApplication is lookupServicePrincipal limited to app registrations.
func (s *Server) lookupApplication(ctx context.Context, tenantID, id string) (directory.ServicePrincipal, error) {
	sp, err := s.lookupServicePrincipal(ctx, tenantID, id)
	if err == nil && !isAppRegistration(sp) {
		return sp, graphNotFound("httpapi.lookupApplication", id)
	}
	return sp, err
}

// spView is one of the two views: its collection name (for authorization and
// @odata.context), JSON, filter schema, and record lookup.
type spView struct {
	collection string
	json       func(directory.ServicePrincipal) map[string]any
	schema     filterSchema
	lookup     func(s *Server, ctx context.Context, tenantID, id string) (directory.ServicePrincipal, error)
	include    func(directory.ServicePrincipal) bool
}

var (
	spViewSP = spView{"servicePrincipals", servicePrincipalJSON, servicePrincipalFilterSchema,
		(*Server).lookupServicePrincipal, func(directory.ServicePrincipal) bool { return true }}
	spViewApp = spView{"applications", applicationJSON, applicationFilterSchema,
		(*Server).lookupApplication, isAppRegistration}
)

func (s *Server) listSPs(v spView) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		if err := s.authorizeRead(r.Context(), c, v.collection); err != nil {
			return err
		}
		q, err := parseGraphQuery(r, v.schema, v.json(directory.ServicePrincipal{}))
		if err != nil {
			return err
		}
		sps, err := s.Store.ListServicePrincipals(r.Context(), c.TenantID)
		if err != nil {
			return err
		}
		objs := make([]map[string]any, 0, len(sps))
		for _, sp := range sps {
			if v.include(sp) {
				objs = append(objs, v.json(sp))
			}
		}
		s.writeGraphList(w, r, v.collection, objs, q)
		return nil
	}
}

func (s *Server) getSP(v spView) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		if err := s.authorizeRead(r.Context(), c, v.collection); err != nil {
			return err
		}
		sp, err := v.lookup(s, r.Context(), c.TenantID, r.PathValue("id"))
		if err != nil {
			return err
		}
		return s.writeGraphEntity(w, r, http.StatusOK, v.collection, v.json(sp))
	}
}

// deleteSP removes the record behind either view. A managed identity goes with its resource.
func (s *Server) deleteSP(v spView) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		const op = "httpapi.deleteServicePrincipal"
		ctx := r.Context()
		if err := s.authorizeWrite(ctx, c, v.collection, directory.ActionDelete); err != nil {
			return err
		}
		sp, err := v.lookup(s, ctx, c.TenantID, r.PathValue("id"))
		if err != nil {
			return err
		}
		if err := s.checkSPChange(ctx, c, sp, "delete"); err != nil {
			return err
		}
		if err := s.refuseLastGlobalAdmin(ctx, c.TenantID, heldBy(sp.ID), "delete '"+sp.DisplayName+"'"); err != nil {
			return err
		}
		if err := s.Store.DeleteServicePrincipal(ctx, c.TenantID, sp.ID); err != nil {
			return asGraphError(op, sp.ID, err)
		}
		if err := s.deleteAssignmentsOf(ctx, c.TenantID, sp.ID); err != nil {
			return err
		}
		noContent(w)
		return nil
	}
}

// checkSPChange refuses changes to managed identities, which follow their resource, and to
// privileged service principals by anyone but a Global Administrator.
func (s *Server) checkSPChange(ctx context.Context, c Caller, sp directory.ServicePrincipal, what string) error {
	if sp.Type == directory.SPManagedIdentity {
		return graphBadRequest("httpapi.checkSPChange", "Cannot "+what+" the managed identity '"+sp.DisplayName+
			"' through the directory: it belongs to "+sp.ManagedResourceID+"; change the identity on that resource instead.")
	}
	return s.guardPrivilegedTarget(ctx, c, sp.ID, sp.DisplayName)
}
