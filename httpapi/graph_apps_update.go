package httpapi

import (
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
)

// appPatch is the body of PATCH /applications/{id} (az ad app update).
type appPatch struct {
	DisplayName            *string      `json:"displayName"`
	SignInAudience         *string      `json:"signInAudience"`
	IsFallbackPublicClient *bool        `json:"isFallbackPublicClient"`
	Web                    *redirectSet `json:"web"`
	PublicClient           *redirectSet `json:"publicClient"`
}

// validate checks the patch on its own, before the record is read.
func (p appPatch) validate() error {
	const op = "httpapi.updateApplication"
	if p.DisplayName != nil && (strings.TrimSpace(*p.DisplayName) == "" || len(*p.DisplayName) > 256) {
		return graphBadRequest(op, "A displayName of 1 to 256 characters is required.")
	}
	if p.SignInAudience != nil && *p.SignInAudience != "AzureADMyOrg" {
		return graphBadRequest(op, "Latch applications sign in users of their own tenant only: signInAudience must be AzureADMyOrg.")
	}
	web, public := p.Web != nil && len(p.Web.RedirectURIs) > 0, p.PublicClient != nil && len(p.PublicClient.RedirectURIs) > 0
	if web && public {
		return graphBadRequest(op, "Give redirect URIs under either web or publicClient, not both: a Latch application is one kind of client.")
	}
	if web {
		return validateRedirectURIs(p.Web.RedirectURIs)
	}
	if public {
		return validateRedirectURIs(p.PublicClient.RedirectURIs)
	}
	return nil
}

// apply changes the record. Latch keeps one redirect list and whether the client is public:
// a non-empty list under web or publicClient replaces it and sets the kind; an empty list
// clears it only when it names the kind the application is.
func (p appPatch) apply(sp *directory.ServicePrincipal) {
	if p.DisplayName != nil {
		sp.DisplayName = strings.TrimSpace(*p.DisplayName)
	}
	if p.IsFallbackPublicClient != nil {
		sp.PublicClient = *p.IsFallbackPublicClient
	}
	for _, set := range []struct {
		list   *redirectSet
		public bool
	}{{p.Web, false}, {p.PublicClient, true}} {
		switch {
		case set.list == nil:
		case len(set.list.RedirectURIs) > 0:
			sp.RedirectURIs, sp.PublicClient = set.list.RedirectURIs, set.public
		case sp.PublicClient == set.public:
			sp.RedirectURIs = nil
		}
	}
}

func (s *Server) updateApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.updateApplication"
	ctx := r.Context()
	if err := s.authorizeWrite(ctx, c, "applications", directory.ActionUpdate); err != nil {
		return err
	}
	var body appPatch
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	if err := body.validate(); err != nil {
		return err
	}
	app, err := s.lookupApplication(ctx, c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.checkSPChange(ctx, c, app, "change"); err != nil {
		return err
	}
	_, err = s.Store.UpdateServicePrincipal(ctx, c.TenantID, app.ID, func(sp directory.ServicePrincipal) (directory.ServicePrincipal, error) {
		body.apply(&sp)
		return sp, nil
	})
	if err != nil {
		return asGraphError(op, app.ID, err)
	}
	noContent(w)
	return nil
}
