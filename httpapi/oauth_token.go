package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/token"
)

const (
	grantDeviceCodeURN = "urn:ietf:params:oauth:grant-type:device_code"
	refreshLifetime    = 90 * 24 * time.Hour
	maxForm            = 64 << 10
)

// handleToken is the token endpoint. Grants: authorization_code (PKCE S256 always),
// device code (the URN, and the literal "device_code" MSAL Go sends), client_credentials,
// refresh_token (rotated, reuse revokes the family). The password and implicit grants are
// refused on purpose (RFC 9700).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.handleToken"
	a, err := s.resolveAuthority(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	var resp map[string]any
	switch g := r.PostForm.Get("grant_type"); g {
	case "authorization_code":
		resp, err = s.grantAuthCode(r, a)
	case grantDeviceCodeURN, "device_code":
		resp, err = s.grantDeviceCode(r, a)
	case "client_credentials":
		resp, err = s.grantClientCredentials(r, a)
	case "refresh_token":
		resp, err = s.grantRefresh(r, a)
	case grantDeviceKeyURN: // devicekey.go
		resp, err = s.grantDeviceKey(r, a)
	case "":
		err = oauthErr(op, errs.Invalid, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
	default:
		err = oauthErr(op, errs.Invalid, "unsupported_grant_type", "The grant type '"+truncate(g, 64)+"' is not supported.")
	}
	if err != nil {
		s.writeTokenError(w, r, err) // ca_enforce.go: adds suberror and claims for Conditional Access
		return
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// parseForm reads a capped url-encoded body; duplicate parameters are refused (RFC 6749 §3.1).
func parseForm(w http.ResponseWriter, r *http.Request) error {
	const op = "httpapi.parseForm"
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return oauthErr(op, errs.Invalid, "invalid_request", "The request body could not be read as a form.")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return oauthErr(op, errs.Invalid, "invalid_request", "The parameter '"+truncate(k, 64)+"' was sent more than once.")
		}
	}
	return nil
}

// grantClientCredentials issues an app-only token; the scope must be "<resource>/.default".
func (s *Server) grantClientCredentials(r *http.Request, a authority) (_ map[string]any, err error) {
	const op = "httpapi.grantClientCredentials"
	c, err := s.authenticateClient(r.Context(), r, a)
	if err != nil {
		return nil, err
	}
	if !c.Authenticated {
		return nil, oauthErr(op, errs.Unauthenticated, "invalid_client", "AADSTS7000218: A public client cannot use the client_credentials grant.")
	}
	resource, err := s.resourceFor(r.Context(), a, r.PostForm.Get("scope"), r.PostForm.Get("resource"), false)
	defer func() {
		s.logAppSignIn(r, a.Tenant.ID, signinlog.FlowClientCredentials, c.SP.AppID, c.SP.DisplayName, resource, err)
	}()
	if err != nil {
		return nil, err
	}
	claims := token.Claims{Kind: token.KindAccess, Issuer: a.Issuer, TenantID: a.Tenant.ID,
		Subject: c.SP.ID, ObjectID: c.SP.ID, PrincipalType: token.PrincipalApp, AppID: c.SP.AppID,
		Audience: resource, Name: c.SP.DisplayName, CorrelationID: CorrelationID(r.Context())}
	at, signed, err := s.Tokens.Sign(r.Context(), claims)
	if err != nil {
		return nil, err
	}
	return tokenResponse(at, signed, s.now()), nil
}

// resourceFor finds the one resource a scope (or a v1 "resource" parameter) names and checks
// that it exists in the tenant: this server's ARM or Graph API, or a service principal by appId
// or servicePrincipalName. A scope with no resource means Graph, as in Entra.
func (s *Server) resourceFor(ctx context.Context, a authority, scope, v1resource string, allowOIDCOnly bool) (string, error) {
	const op = "httpapi.resourceFor"
	resource, _, err := token.ParseScope(scope)
	if err != nil {
		return "", err
	}
	if resource == "" {
		resource = v1resource
	}
	if resource == "" {
		if !allowOIDCOnly {
			return "", oauthErr(op, errs.Invalid, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		}
		return s.graphAudience(), nil
	}
	n := token.NormalizeAudience(resource)
	if n == token.NormalizeAudience(s.armAudience()) || n == token.NormalizeAudience(s.graphAudience()) || n == s.registrationAudience() {
		return resource, nil
	}
	sps, err := s.Store.ListServicePrincipals(ctx, a.Tenant.ID)
	if err != nil {
		return "", err
	}
	for _, sp := range sps {
		if strings.EqualFold(sp.AppID, resource) || slices.ContainsFunc(sp.ServicePrincipalNames, func(x string) bool {
			return token.NormalizeAudience(x) == n
		}) {
			return resource, nil
		}
	}
	return "", oauthErr(op, errs.Invalid, "invalid_resource", "AADSTS500011: The resource principal named "+truncate(resource, 200)+
		" was not found in the tenant named "+a.Tenant.DefaultDomain+". This can happen if the application has not been installed by the administrator of the tenant.")
}

// userGrant is what a user-facing grant hands to issueUserTokens.
type userGrant struct {
	Client   directory.ServicePrincipal
	UserID   string
	Scope    string
	AMR      []string
	AuthTime time.Time
	Nonce    string
	FamilyID string // set when the refresh token continues a family
	// Flow is the sign-in log's flow (signinlog.Flow* or flowRefresh); Browser says the person
	// signed in on the pages (Conditional Access's "browser" client app), else the client is a
	// desktop or mobile app. The methods are read from AMR (methodsOfAMR), which is how codes
	// and refresh tokens carry them.
	Flow    string
	Browser bool
	// SignInCorrelationID is the stored id of the sign-in the grant comes from ("" when none
	// was stored); the tokens, the certificate and the log entry carry it
	// (signin_correlation.go), and a new refresh token keeps it.
	SignInCorrelationID string
	// admitted is set once Conditional Access has allowed the grant (grantRefresh decides
	// before rotating), so issueUserTokens does not decide twice.
	admitted *admission
}

// admission is an allowed user sign-in and its decision.
type admission struct {
	x userSignIn
	d caDecision
}

// issueUserTokens issues the access token for the scope's resource and, as the scope asks, an
// ID token and a rotated refresh token. The user must still exist and be enabled.
//
// Every call writes one sign-in log entry, whatever the outcome once the user is known.
func (s *Server) issueUserTokens(r *http.Request, a authority, g userGrant) (map[string]any, error) {
	r = withSignInCorrelation(r, g.SignInCorrelationID)
	adm := g.admitted
	if adm == nil {
		x, d, err := s.admit(r, a, g)
		if err != nil {
			s.logUserSignIn(r, a.Tenant.ID, x, d, err)
			return nil, err
		}
		adm = &admission{x: x, d: d}
	}
	resp, err := s.issueAdmitted(r, a, g, adm.x)
	s.logUserSignIn(r, a.Tenant.ID, adm.x, adm.d, err)
	return resp, err
}

// admit checks that the grant's user may still sign in and decides Conditional Access for
// the application the request is for. Refusals: invalid_grant for a disabled or deleted
// user, interaction_required for a temporary password, and those of caDecision.refusal.
func (s *Server) admit(r *http.Request, a authority, g userGrant) (userSignIn, caDecision, error) {
	const op = "httpapi.admit"
	ctx := r.Context()
	u, err := s.Store.GetUser(ctx, a.Tenant.ID, g.UserID)
	if errs.Is(err, errs.NotFound) || err == nil && !u.AccountEnabled {
		return userSignIn{}, caDecision{}, oauthErr(op, errs.Unauthenticated, "invalid_grant", "AADSTS50057: The user account is disabled or was deleted.")
	}
	if err != nil {
		return userSignIn{}, caDecision{}, err
	}
	x, err := s.userSignInOf(r, a, g, u)
	if err != nil {
		return x, caDecision{}, err
	}
	if err := s.temporaryPasswordRefusal(op, u); err != nil { // signin.go
		return x, caDecision{}, err
	}
	d, err := s.evaluateSignIn(r, a.Tenant.ID, x) // ca_enforce.go
	if err != nil {
		return x, d, err
	}
	return x, d, d.refusal(op)
}

// userSignInOf describes the sign-in a grant makes: for an ssh-cert request the Linux VM
// sign-in app and the VM, else the app of the scope's resource.
func (s *Server) userSignInOf(r *http.Request, a authority, g userGrant, u directory.User) (userSignIn, error) {
	x := userSignIn{Flow: g.Flow, ClientAppType: conditional.ClientMobileAndDesktop, User: u, Client: g.Client,
		Methods: methodsOfAMR(g.AMR), AuthTime: g.AuthTime, Interactive: g.Flow != flowRefresh}
	if g.Browser {
		x.ClientAppType = conditional.ClientBrowser
	}
	if x.Flow == "" {
		x.Flow = flowDeviceKey // the one grant that names none
	}
	if isSSHCertRequest(r) {
		x.Flow, x.AppID = signinlog.FlowSSHCertificate, directory.LinuxVMSignInAppID
		x.ResourceID = truncate(r.PostForm.Get("vm_id"), maxVMIDLength)
		x.ResourceName = x.ResourceID[strings.LastIndex(x.ResourceID, "/")+1:]
		return x, nil
	}
	resource, err := s.resourceFor(r.Context(), a, g.Scope, "", true)
	if err != nil {
		return x, err
	}
	x.AppID, x.ResourceName = s.appOfResource(r.Context(), a, resource)
	x.ResourceID = x.AppID
	return x, nil
}

// issueAdmitted issues what an admitted grant asked for.
func (s *Server) issueAdmitted(r *http.Request, a authority, g userGrant, x userSignIn) (map[string]any, error) {
	ctx := r.Context()
	u := x.User
	if isSSHCertRequest(r) { // oauth_sshcert.go
		return s.issueSSHCert(r, a, g, u, x.Methods)
	}
	resource, err := s.resourceFor(ctx, a, g.Scope, "", true)
	if err != nil {
		return nil, err
	}
	_, oidc, _ := token.ParseScope(g.Scope)
	base := token.Claims{Issuer: a.Issuer, TenantID: a.Tenant.ID, Subject: u.ID, ObjectID: u.ID,
		PrincipalType: token.PrincipalUser, AppID: g.Client.AppID, UPN: u.UserPrincipalName, Name: u.DisplayName,
		AMR: g.AMR, AuthTime: g.AuthTime, CorrelationID: chainCorrelationID(ctx)}
	at := base
	at.Kind, at.Audience, at.Scope = token.KindAccess, resource, "user_impersonation"
	raw, signed, err := s.Tokens.Sign(ctx, at)
	if err != nil {
		return nil, err
	}
	resp := tokenResponse(raw, signed, s.now())
	resp["scope"] = grantedScope(g.Scope, resource)
	resp["client_info"] = clientInfo(u.ID, a.Tenant.ID)
	if slices.Contains(oidc, "openid") {
		id := base
		id.Kind, id.Audience, id.Nonce = token.KindID, g.Client.AppID, g.Nonce
		if resp["id_token"], _, err = s.Tokens.Sign(ctx, id); err != nil {
			return nil, err
		}
	}
	if slices.Contains(oidc, "offline_access") && g.FamilyID == "" {
		rt, err := s.newRefreshToken(ctx, a, g, newID())
		if err != nil {
			return nil, err
		}
		resp["refresh_token"] = rt
	}
	return resp, nil
}

// grantedScope is the scope a user token answers with: the scopes as requested, since MSAL
// treats any requested scope missing from the answer as declined, plus the resource's
// .default when the request named none.
func grantedScope(requested, resource string) string {
	if r, _, _ := token.ParseScope(requested); r != "" {
		return requested
	}
	return strings.TrimSpace(resource + "/.default " + requested)
}

// newRefreshToken stores the first link of a refresh family and returns the token.
func (s *Server) newRefreshToken(ctx context.Context, a authority, g userGrant, family string) (string, error) {
	raw, rt := s.refreshLink(a, g, family)
	if err := s.Store.CreateRefreshToken(ctx, rt); err != nil {
		return "", err
	}
	return raw, nil
}

func (s *Server) refreshLink(a authority, g userGrant, family string) (string, token.RefreshToken) {
	raw := randomToken()
	now := s.now()
	return raw, token.RefreshToken{Hash: hashSecret(raw), FamilyID: family, TenantID: a.Tenant.ID,
		ClientID: g.Client.AppID, UserID: g.UserID, Scope: g.Scope, AMR: g.AMR, AuthTime: g.AuthTime,
		Status: token.RefreshActive, Created: now, Expires: now.Add(refreshLifetime), SignInCorrelationID: g.SignInCorrelationID}
}

// grantRefresh rotates a refresh token: the presented link is retired, a new one is issued in
// the same family, and presenting a retired link again revokes the whole family. The new
// request may name another resource, as Entra's multi-resource refresh tokens allow.
func (s *Server) grantRefresh(r *http.Request, a authority) (map[string]any, error) {
	const op = "httpapi.grantRefresh"
	c, err := s.authenticateClient(r.Context(), r, a)
	if err != nil {
		return nil, err
	}
	presented := r.PostForm.Get("refresh_token")
	if presented == "" || len(presented) > 512 {
		return nil, oauthErr(op, errs.Invalid, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'refresh_token'.")
	}
	old, err := s.Store.GetRefreshToken(r.Context(), hashSecret(presented))
	if err != nil || old.ClientID != c.SP.AppID || old.TenantID != a.Tenant.ID {
		return nil, oauthErr(op, errs.Conflict, "invalid_grant", "AADSTS9002313: Invalid request. The refresh token is malformed, revoked or was issued to another client.")
	}
	scope := r.PostForm.Get("scope")
	if scope == "" {
		scope = old.Scope
	}
	g := userGrant{Client: c.SP, UserID: old.UserID, Scope: scope, AMR: old.AMR, AuthTime: old.AuthTime,
		FamilyID: old.FamilyID, Flow: flowRefresh, SignInCorrelationID: old.SignInCorrelationID}
	if err := s.admitRefresh(r, a, &g); err != nil { // before rotating: a refusal keeps the token usable
		return nil, err
	}
	raw, next := s.refreshLink(a, g, old.FamilyID)
	if _, err := s.Store.RotateRefreshToken(r.Context(), old.Hash, next, s.now()); err != nil {
		return nil, errs.E(op, errs.KindOf(err), errs.Code("invalid_grant"),
			"AADSTS70043: The refresh token has expired, was revoked, or was already used. Sign in again.", err)
	}
	resp, err := s.issueUserTokens(r, a, g)
	if err != nil {
		return nil, err
	}
	resp["refresh_token"] = raw
	return resp, nil
}

// admitRefresh checks a refresh request before its token rotates: the ssh-cert request
// and Conditional Access, evaluated again as Entra does on every refresh, so a policy added
// since the sign-in applies to it. A refusal is logged here; an admission is kept in g.
func (s *Server) admitRefresh(r *http.Request, a authority, g *userGrant) error {
	r = withSignInCorrelation(r, g.SignInCorrelationID)
	x, d, err := s.admit(r, a, *g)
	if err == nil {
		_, err = s.checkSSHCertRequest(r, a, g.UserID, g.Scope)
	}
	if err != nil {
		s.logUserSignIn(r, a.Tenant.ID, x, d, err)
		return err
	}
	g.admitted = &admission{x: x, d: d}
	return nil
}

// tokenResponse is Entra's token response; expires_in is a JSON number, which every MSAL takes.
func tokenResponse(raw string, c token.Claims, now time.Time) map[string]any {
	secs := int64(c.Expires.Sub(now).Seconds())
	return map[string]any{"token_type": "Bearer", "access_token": raw, "expires_in": secs,
		"ext_expires_in": secs, "expires_on": c.Expires.Unix()}
}

// clientInfo is MSAL's account key: base64url of {"uid":oid,"utid":tid}.
func clientInfo(oid, tid string) string {
	b, _ := json.Marshal(map[string]string{"uid": oid, "utid": tid})
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how codes and refresh tokens are keyed in the store: they are 256-bit random
// values, so an unsalted fast hash is enough and keeps a database copy from redeeming anything.
func hashSecret(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// randomToken is a 256-bit random value, base64url.
func randomToken() string {
	var b [32]byte
	mustRand(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// unverifiedClaim reads one string claim from a base64url JSON segment, for routing only.
func unverifiedClaim(seg, name string) string {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	v, _ := m[name].(string)
	return v
}
