package cli

import (
	"crypto/subtle"
	"encoding/json"
	"strings"
	"time"
)

// maxIDToken caps what we decode; a real id token is a few kilobytes.
const maxIDToken = 64 << 10

// idClaims are the id token claims the command line relies on.
type idClaims struct {
	Issuer            string   `json:"iss"`
	Audience          audience `json:"aud"`
	Expiry            int64    `json:"exp"`
	TenantID          string   `json:"tid"`
	ObjectID          string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	Nonce             string   `json:"nonce"`
}

// audience is "aud" as a string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*a = many
	return err
}

// parseIDToken decodes the claims of an id token without checking its signature. That is
// sound here (OpenID Connect Core 3.1.3.7): the token came straight from the token endpoint
// over TLS, and the command line only uses it to name the account, never to grant access.
func parseIDToken(raw string) (*idClaims, error) {
	parts := strings.Split(raw, ".")
	if len(raw) > maxIDToken || len(parts) != 3 {
		return nil, failf("the server's id token is malformed.")
	}
	payload, err := decodeSegment(parts[1])
	if err != nil {
		return nil, failf("the server's id token is malformed.")
	}
	var c idClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, failf("the server's id token is malformed: %v", err)
	}
	return &c, nil
}

// check verifies what az checks: the issuer is the discovered one (with {tenantid} filled
// in), the audience is this client, the token is not expired, it names a tenant and a user,
// and it carries our nonce when we sent one.
func (c *idClaims) check(issuer, nonce string, now time.Time) error {
	switch {
	case !issuerMatches(issuer, c.Issuer, c.TenantID):
		return failf("the id token's issuer '%s' is not the server's ('%s'); refusing the sign-in.", c.Issuer, issuer)
	case !containsString(c.Audience, cliClientID):
		return failf("the id token is not meant for this client; refusing the sign-in.")
	case c.Expiry != 0 && time.Unix(c.Expiry, 0).Before(now):
		return failf("the id token has expired; check this computer's clock and sign in again.")
	case c.TenantID == "":
		return failf("the id token names no tenant (tid); refusing the sign-in.")
	case nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1:
		return failf("the id token's nonce does not match this sign-in; refusing it.")
	}
	if c.username() == "" {
		return failf("the id token names no user (preferred_username or upn).")
	}
	return nil
}

// username is the account name az shows: preferred_username, else upn.
func (c *idClaims) username() string {
	if c.PreferredUsername != "" {
		return c.PreferredUsername
	}
	return c.UPN
}

// issuerMatches compares an issuer with the discovered one, which for multi-tenant
// authorities ("organizations") holds a {tenantid} placeholder, as Entra's does.
func issuerMatches(discovered, got, tid string) bool {
	if strings.Contains(discovered, "{tenantid}") {
		if tid == "" {
			return false
		}
		discovered = strings.ReplaceAll(discovered, "{tenantid}", tid)
	}
	return got != "" && got == discovered
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// clientInfo is Entra's client_info: the account's object id and home tenant.
type clientInfo struct {
	UID  string `json:"uid"`
	UTID string `json:"utid"`
}

func parseClientInfo(s string) clientInfo {
	var ci clientInfo
	if b, err := decodeSegment(s); err == nil {
		json.Unmarshal(b, &ci)
	}
	return ci
}
