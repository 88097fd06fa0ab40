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

// Caller is who made an API request, from a verified access token.
type Caller struct {
	TenantID      string
	ObjectID      string // the user's or service principal's object id
	AppID         string // the client the token was issued to
	PrincipalType string // token.PrincipalUser or token.PrincipalApp
	Name          string // UPN for users, display name for apps
	Claims        token.Claims
}

// maxAuthHeader caps the Authorization header; tokens beyond it are refused unparsed.
const maxAuthHeader = 16 << 10

// authenticate verifies the bearer access token on r for one of this server's own APIs.
func (s *Server) authenticate(r *http.Request) (Caller, error) {
	const op = "httpapi.authenticate"
	h := r.Header.Get("Authorization")
	if h == "" {
		return Caller{}, errs.E(op, errs.Unauthenticated, "Authentication failed. The 'Authorization' header is missing.", errs.Code("AuthenticationFailed"))
	}
	if len(h) > maxAuthHeader {
		return Caller{}, errs.E(op, errs.Unauthenticated, "The access token is too large.", errs.Code("InvalidAuthenticationToken"))
	}
	scheme, raw, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return Caller{}, errs.E(op, errs.Unauthenticated, "Authentication failed. The 'Authorization' header must be 'Bearer <token>'.", errs.Code("AuthenticationFailed"))
	}
	c, err := s.Tokens.Verify(r.Context(), raw, token.VerifyOptions{
		Kind:      token.KindAccess,
		Audiences: []string{s.armAudience(), s.graphAudience()},
		Issuers:   s.issuers(),
	})
	if err != nil {
		return Caller{}, errs.E(op, errs.Unauthenticated, "The access token is invalid.", errs.Code("InvalidAuthenticationToken"), err)
	}
	caller := Caller{TenantID: c.TenantID, ObjectID: c.ObjectID, AppID: c.AppID, PrincipalType: c.PrincipalType, Claims: c, Name: c.UPN}
	noteTenant(r.Context(), c.TenantID) // a successful write then announces a change in this tenant (changes.go)
	if err := s.checkPrincipalEnabled(r.Context(), caller); err != nil {
		return Caller{}, err
	}
	return caller, nil
}

// checkPrincipalEnabled refuses tokens of principals that were disabled or deleted after the
// token was issued: access follows the directory, not the token's lifetime.
func (s *Server) checkPrincipalEnabled(ctx context.Context, c Caller) error {
	const op = "httpapi.checkPrincipalEnabled"
	refuse := errs.E(op, errs.Unauthenticated, "The signed-in identity is disabled or no longer exists.", errs.Code("InvalidAuthenticationToken"))
	if c.PrincipalType == token.PrincipalUser {
		u, err := s.Store.GetUser(ctx, c.TenantID, c.ObjectID)
		if errs.Is(err, errs.NotFound) || err == nil && !u.AccountEnabled {
			return refuse
		}
		return err
	}
	sp, err := s.Store.GetServicePrincipal(ctx, c.TenantID, c.ObjectID)
	if errs.Is(err, errs.NotFound) || err == nil && !sp.AccountEnabled {
		return refuse
	}
	return err
}

// issuers lists every iss this server signs with: one per tenant plus the /adfs authority.
func (s *Server) issuers() []string {
	return []string{s.URL + "/adfs", s.URL + "/" + s.HomeTenantID + "/v2.0"}
}

// authorizeDirectory checks that the caller holds a directory role allowing action
// (directory.Action(collection, verb)), directly or through a group.
func (s *Server) authorizeDirectory(ctx context.Context, c Caller, action string) error {
	const op = "httpapi.authorizeDirectory"
	assignments, err := s.Store.ListDirectoryRoleAssignments(ctx, c.TenantID)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	groups, err := s.Store.ListGroups(ctx, c.TenantID)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	ids := append([]string{c.ObjectID}, directory.TransitiveGroups(c.ObjectID, groups)...)
	if !directory.Allowed(assignments, ids, action) {
		return errs.E(op, errs.PermissionDenied, errs.Code("Authorization_RequestDenied"), fmt.Sprintf(
			"Insufficient privileges to complete the operation: %s needs a directory role that allows %s.", c.Name, action))
	}
	return nil
}

// requireAudience refuses a token issued for another of this server's APIs: a token is good
// for the one API it names, as in Entra.
func (s *Server) requireAudience(c Caller, want string) error {
	if token.NormalizeAudience(c.Claims.Audience) == token.NormalizeAudience(want) {
		return nil
	}
	return errs.E("httpapi.requireAudience", errs.Unauthenticated, errs.Code("InvalidAuthenticationToken"), fmt.Sprintf(
		"Access token validation failure. Invalid audience: the token is for '%s'; request one for '%s' (scope '%s/.default').",
		truncate(c.Claims.Audience, 128), want, want))
}
