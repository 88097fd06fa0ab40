package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Creating app registrations and service principals, and changing service principals.

// cliRedirectURI is the loopback redirect the CLI's public client signs in with; the token
// service accepts any port on it.
const cliRedirectURI = "http://localhost"

// spCreate is the body of POST /servicePrincipals.
type spCreate struct {
	AppID          string `json:"appId"`
	AccountEnabled *bool  `json:"accountEnabled"`
}

// createServicePrincipal answers POST /servicePrincipals {"appId"}. Latch's app
// registrations carry their service principal already, so for a registered app this answers
// with it (az ad sp create-for-rbac creates the app, then asks for its service principal);
// for a deleted well-known sign-in application it creates the record again.
func (s *Server) createServicePrincipal(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.createServicePrincipal"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "servicePrincipals", directory.ActionCreate); err != nil {
		return err
	}
	var body spCreate
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	appID := strings.ToLower(strings.TrimSpace(body.AppID))
	sp, err := s.Store.GetServicePrincipalByAppID(ctx, c.TenantID, appID)
	if errs.Is(err, errs.NotFound) {
		sp, err = s.recreateWellKnown(ctx, c, appID, body.AccountEnabled)
	}
	if err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusCreated, "servicePrincipals", servicePrincipalJSON(sp))
}

// recreateWellKnown makes the record of a well-known application again.
func (s *Server) recreateWellKnown(ctx context.Context, c Caller, appID string, enabled *bool) (directory.ServicePrincipal, error) {
	const op = "httpapi.createServicePrincipal"
	for _, app := range directory.WellKnownApps {
		if app.AppID != appID {
			continue
		}
		sp := newAppRecord(c.TenantID, appID, app.DisplayName)
		if enabled != nil {
			sp.AccountEnabled = *enabled
		}
		if appID == directory.AzureCLIAppID {
			sp.PublicClient, sp.RedirectURIs = true, []string{cliRedirectURI}
		}
		if err := s.Store.CreateServicePrincipal(ctx, sp); err != nil && !errs.Is(err, errs.Exists) {
			return sp, err
		}
		return s.Store.GetServicePrincipalByAppID(ctx, c.TenantID, appID)
	}
	return directory.ServicePrincipal{}, graphBadRequest(op, "The appId '"+truncate(appID, 64)+
		"' of the service principal does not reference a valid application object. Register the application with POST /v1.0/applications first.")
}

func newAppRecord(tenantID, appID, name string) directory.ServicePrincipal {
	return directory.ServicePrincipal{ID: newID(), TenantID: tenantID, AppID: appID, DisplayName: name,
		Type: directory.SPApplication, AccountEnabled: true, ServicePrincipalNames: []string{appID}}
}

// appCreate is the body of POST /applications, with Graph's field names.
type appCreate struct {
	DisplayName            string       `json:"displayName"`
	SignInAudience         string       `json:"signInAudience"`
	IsFallbackPublicClient *bool        `json:"isFallbackPublicClient"`
	Web                    *redirectSet `json:"web"`
	PublicClient           *redirectSet `json:"publicClient"`
}

type redirectSet struct {
	RedirectURIs []string `json:"redirectUris"`
}

const maxRedirectURIs = 100

func (s *Server) createApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.createApplication"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "applications", directory.ActionCreate); err != nil {
		return err
	}
	var body appCreate
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	sp, err := body.record(c.TenantID)
	if err != nil {
		return err
	}
	if err := s.Store.CreateServicePrincipal(ctx, sp); err != nil {
		return asGraphError(op, sp.ID, err)
	}
	if sp, err = s.Store.GetServicePrincipal(ctx, c.TenantID, sp.ID); err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusCreated, "applications", applicationJSON(sp))
}

// record validates the body into a new app registration with a fresh appId.
func (b appCreate) record(tenantID string) (directory.ServicePrincipal, error) {
	const op = "httpapi.createApplication"
	if name := strings.TrimSpace(b.DisplayName); name == "" || len(name) > 256 {
		return directory.ServicePrincipal{}, graphBadRequest(op, "A displayName of 1 to 256 characters is required.")
	}
	if b.SignInAudience != "" && b.SignInAudience != "AzureADMyOrg" {
		return directory.ServicePrincipal{}, graphBadRequest(op, "Latch applications sign in users of their own tenant only: signInAudience must be AzureADMyOrg.")
	}
	if b.Web != nil && len(b.Web.RedirectURIs) > 0 && b.PublicClient != nil && len(b.PublicClient.RedirectURIs) > 0 {
		return directory.ServicePrincipal{}, graphBadRequest(op, "Give redirect URIs under either web or publicClient, not both: a Latch application is one kind of client.")
	}
	sp := newAppRecord(tenantID, newID(), strings.TrimSpace(b.DisplayName))
	sp.PublicClient = b.IsFallbackPublicClient != nil && *b.IsFallbackPublicClient
	if b.Web != nil {
		sp.RedirectURIs = b.Web.RedirectURIs
	}
	if b.PublicClient != nil && len(b.PublicClient.RedirectURIs) > 0 {
		sp.RedirectURIs, sp.PublicClient = b.PublicClient.RedirectURIs, true
	}
	return sp, validateRedirectURIs(sp.RedirectURIs)
}

// validateRedirectURIs accepts https URLs and http on loopback, as Entra does; a token
// service redirecting anywhere else would hand codes to eavesdroppers.
func validateRedirectURIs(uris []string) error {
	const op = "httpapi.validateRedirectURIs"
	if len(uris) > maxRedirectURIs {
		return graphBadRequest(op, "An application may have at most 100 redirect URIs.")
	}
	for _, raw := range uris {
		u, err := url.Parse(raw)
		ok := err == nil && len(raw) <= 2048 && u.Fragment == "" && u.Host != "" &&
			(u.Scheme == "https" || u.Scheme == "http" && isLoopbackHost(u.Hostname()))
		if !ok {
			return graphBadRequest(op, "The redirect URI '"+truncate(raw, 200)+"' is not valid: use https, or http on localhost, without a fragment.")
		}
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// spPatch is the body of PATCH /servicePrincipals/{id}.
type spPatch struct {
	AccountEnabled *bool   `json:"accountEnabled"`
	DisplayName    *string `json:"displayName"`
}

func (s *Server) updateServicePrincipal(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.updateServicePrincipal"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "servicePrincipals", directory.ActionUpdate); err != nil {
		return err
	}
	var body spPatch
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	if body.DisplayName != nil && (strings.TrimSpace(*body.DisplayName) == "" || len(*body.DisplayName) > 256) {
		return graphBadRequest(op, "A displayName of 1 to 256 characters is required.")
	}
	sp, err := s.lookupServicePrincipal(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.checkSPChange(ctx, c, sp, "change"); err != nil {
		return err
	}
	if body.AccountEnabled != nil && !*body.AccountEnabled {
		if err := s.refuseLastGlobalAdmin(ctx, c.TenantID, heldBy(sp.ID), "disable '"+sp.DisplayName+"'"); err != nil {
			return err
		}
	}
	_, err = s.Store.UpdateServicePrincipal(ctx, c.TenantID, sp.ID, func(sp directory.ServicePrincipal) (directory.ServicePrincipal, error) {
		if body.AccountEnabled != nil {
			sp.AccountEnabled = *body.AccountEnabled
		}
		if body.DisplayName != nil {
			sp.DisplayName = strings.TrimSpace(*body.DisplayName)
		}
		return sp, nil
	})
	if err != nil {
		return asGraphError(op, sp.ID, err)
	}
	noContent(w)
	return nil
}
