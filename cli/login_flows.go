package cli

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
)

// signIn obtains the first tokens: browser or device code for a person, client credentials
// for a service principal.
func (a *app) signIn(ctx context.Context, c *client, ep *endpoints, o loginOptions) (*loginResult, error) {
	if o.servicePrincipal {
		return a.servicePrincipalSignIn(ctx, c, ep, o)
	}
	scope := scopeFor(armResource(o.server)) + " " + oidcScopes
	var (
		tr    *tokenResponse
		nonce string
		err   error
	)
	if o.deviceCode {
		tr, err = a.deviceLogin(ctx, c, ep, scope, signInHints{})
	} else {
		tr, nonce, err = a.browserLogin(ctx, c, ep, scope, signInHints{})
	}
	if err != nil {
		return nil, err
	}
	return a.userResult(ep, tr, nonce)
}

// userResult checks the id token and names the account from it.
func (a *app) userResult(ep *endpoints, tr *tokenResponse, nonce string) (*loginResult, error) {
	if tr.IDToken == "" {
		return nil, failf("the server returned no id token, so the account cannot be named; refusing the sign-in.")
	}
	if tr.RefreshToken == "" {
		return nil, failf("the server returned no refresh token (offline_access), so later commands could not get tokens; refusing the sign-in.")
	}
	claims, err := parseIDToken(tr.IDToken)
	if err != nil {
		return nil, err
	}
	if err := claims.check(ep.Issuer, nonce, a.now()); err != nil {
		return nil, err
	}
	home := parseClientInfo(tr.ClientInfo).UTID
	if home == "" {
		home = claims.TenantID
	}
	return &loginResult{
		tenantID: claims.TenantID, homeTenantID: home,
		user: accountUser{Name: claims.username(), Type: "user"}, tr: tr,
	}, nil
}

func (a *app) servicePrincipalSignIn(ctx context.Context, c *client, ep *endpoints, o loginOptions) (*loginResult, error) {
	tr, err := c.requestToken(ctx, ep.TokenEndpoint, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {o.username},
		"client_secret": {o.password},
		"scope":         {scopeFor(armResource(o.server))},
	})
	if err != nil {
		return nil, err
	}
	tid := tenantOfToken(tr.AccessToken)
	if tid == "" {
		tid = tenantOfIssuer(ep.Issuer, o.server, o.tenant)
	}
	return &loginResult{
		tenantID: tid, homeTenantID: tid,
		user: accountUser{Name: o.username, Type: "servicePrincipal"}, tr: tr, secret: o.password,
	}, nil
}

// tenantOfToken reads the "tid" claim of a JWT access token without verifying it, as az does
// to learn a service principal's tenant id when --tenant was a domain name. "" if it has none.
func tenantOfToken(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > maxIDToken {
		return ""
	}
	b, err := decodeSegment(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		TID string `json:"tid"`
	}
	json.Unmarshal(b, &c)
	return c.TID
}

// tenantOfIssuer takes the tenant id from an issuer "{server}/{tid}/v2.0", else fallback.
func tenantOfIssuer(issuer, server, fallback string) string {
	rest, ok := strings.CutPrefix(issuer, server+"/")
	if !ok {
		return fallback
	}
	tid, _, _ := strings.Cut(rest, "/")
	if tid == "" || strings.Contains(tid, "{") {
		return fallback
	}
	return tid
}
