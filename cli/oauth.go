package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// cliClientID is az's public client id, which every Latch tenant registers for this CLI.
const cliClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// oidcScopes are asked for with every user sign-in: an id token and a refresh token.
const oidcScopes = "openid profile offline_access"

// armResource and graphResource are the audiences of the two APIs, as Latch names them.
func armResource(server string) string   { return server + "/arm/" }
func graphResource(server string) string { return server + "/" }

// scopeFor is az's resource-to-scope rule: append "/.default", so "…/arm/" becomes
// "…/arm//.default".
func scopeFor(resource string) string { return resource + "/.default" }

// endpoints is the part of the OpenID configuration the command line uses.
type endpoints struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	DeviceEndpoint        string `json:"device_authorization_endpoint"`
}

// discover reads {server}/{tenant}/v2.0/.well-known/openid-configuration. The endpoints must
// be on the server itself: a configuration pointing elsewhere would send codes and secrets
// to another host.
func (c *client) discover(ctx context.Context, server, tenant string) (*endpoints, error) {
	u := server + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, failf("invalid server URL %s: %v", server, err)
	}
	resp, body, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.discoveryError(resp, body, server, tenant)
	}
	var ep endpoints
	if err := json.Unmarshal(body, &ep); err != nil || ep.Issuer == "" || ep.TokenEndpoint == "" {
		return nil, failf("%s is not a Latch server: its OpenID configuration for tenant '%s' is missing or incomplete.", server, tenant)
	}
	if ep.DeviceEndpoint == "" {
		ep.DeviceEndpoint = strings.TrimSuffix(ep.TokenEndpoint, "token") + "devicecode"
	}
	for _, e := range []string{ep.AuthorizationEndpoint, ep.TokenEndpoint, ep.DeviceEndpoint} {
		if e != "" && !sameOrigin(e, server) {
			return nil, failf("the server's OpenID configuration names an endpoint on another host (%s); refusing to send credentials there.", e)
		}
	}
	return &ep, nil
}

func (c *client) discoveryError(resp *http.Response, body []byte, server, tenant string) error {
	if oe := c.oauthErrorFrom(resp, body); oe.Code != "" {
		return oe
	}
	if resp.StatusCode == http.StatusNotFound {
		return failf("tenant '%s' was not found on %s. Check --tenant and --server.", tenant, server)
	}
	return c.apiErrorFrom(resp, body)
}

func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && strings.EqualFold(ua.Host, ub.Host)
}

// tokenResponse is the token endpoint's answer, as Entra sends it.
type tokenResponse struct {
	AccessToken  string  `json:"access_token"`
	RefreshToken string  `json:"refresh_token"`
	IDToken      string  `json:"id_token"`
	ExpiresIn    flexInt `json:"expires_in"`
	ClientInfo   string  `json:"client_info"`
	Scope        string  `json:"scope"`
	TokenType    string  `json:"token_type"`
	// HostKeys and HostAddresses come with an SSH certificate: the VM's host keys and
	// addresses as its agent reported them (Latch's addition), which "latch ssh" pins.
	HostKeys      []string `json:"host_keys"`
	HostAddresses []string `json:"host_addresses"`
}

// flexInt accepts a JSON number or a quoted number, as token services send both.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	*f = flexInt(n)
	return err
}

// postForm posts form to one of the OAuth endpoints (named in errors as what) and returns the
// body of a 200. Refusals come back as *oauthError when the server sent an OAuth error, else
// as the API error of the answer.
func (c *client) postForm(ctx context.Context, what, endpoint string, form url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, failf("invalid %s endpoint %s: %v", what, endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		if oe := c.oauthErrorFrom(resp, body); oe.Code != "" {
			return nil, conditionalAccessRefusal(oe, body) // oauth_stepup.go
		}
		return nil, c.apiErrorFrom(resp, body)
	}
	return body, nil
}

// requestToken posts form to the token endpoint. Errors come back as *oauthError.
func (c *client) requestToken(ctx context.Context, tokenURL string, form url.Values) (*tokenResponse, error) {
	form.Set("client_info", "1")
	body, err := c.postForm(ctx, "token", tokenURL, form)
	if err != nil {
		return nil, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return nil, failf("the token endpoint's answer holds no access token.")
	}
	if tr.TokenType == "" {
		tr.TokenType = "Bearer"
	}
	return &tr, nil
}

// oauthErrorFrom reads {"error","error_description","correlation_id"}; Code is empty when
// the body is not that shape.
func (c *client) oauthErrorFrom(resp *http.Response, body []byte) *oauthError {
	var shape struct {
		Error         string `json:"error"`
		Description   string `json:"error_description"`
		CorrelationID string `json:"correlation_id"`
	}
	oe := &oauthError{Status: resp.StatusCode, CorrelationID: c.correlation(resp)}
	if json.Unmarshal(body, &shape) != nil {
		return oe
	}
	oe.Code, oe.Description = shape.Error, shape.Description
	if shape.CorrelationID != "" && resp.Header.Get("x-ms-correlation-request-id") == "" {
		oe.CorrelationID = shape.CorrelationID
	}
	if oe.Description == "" {
		oe.Description = "The token service refused the request."
	}
	return oe
}

// expiry is when a token from tr stops being usable by our clock.
func (tr *tokenResponse) expiry(now time.Time) time.Time {
	secs := int64(tr.ExpiresIn)
	if secs <= 0 {
		secs = 3600
	}
	return now.Add(time.Duration(secs) * time.Second)
}

// decodeSegment decodes base64url with or without padding.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
