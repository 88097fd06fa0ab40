package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Header types: RFC 9068's for access tokens, plain JWT for ID tokens, as Entra sends them.
const (
	typAccess = "at+jwt"
	typID     = "JWT"
)

// version is Entra's ver claim for v2.0 endpoints.
const version = "2.0"

// wireClaims is the JSON payload, in Entra v2.0's claim names. One struct serves both kinds;
// which fields a kind carries is decided by toWire and checked by kindOf.
type wireClaims struct {
	Iss               string      `json:"iss"`
	Aud               string      `json:"aud"`
	Sub               string      `json:"sub"`
	Oid               string      `json:"oid"`
	Tid               string      `json:"tid"`
	Idtyp             string      `json:"idtyp,omitempty"`
	AppID             string      `json:"appid,omitempty"`
	Azp               string      `json:"azp,omitempty"`
	UPN               string      `json:"upn,omitempty"`
	PreferredUsername string      `json:"preferred_username,omitempty"`
	Name              string      `json:"name,omitempty"`
	Scp               string      `json:"scp,omitempty"`
	Roles             []string    `json:"roles,omitempty"`
	AMR               []string    `json:"amr,omitempty"`
	AuthTime          numericDate `json:"auth_time,omitempty"`
	Nonce             string      `json:"nonce,omitempty"`
	Iat               numericDate `json:"iat"`
	Nbf               numericDate `json:"nbf"`
	Exp               numericDate `json:"exp"`
	Uti               string      `json:"uti"`
	Ver               string      `json:"ver"`
	Cid               string      `json:"xms_cid,omitempty"`
}

// numericDate is seconds since the epoch. It decodes only a plain non-negative integer of at
// most 12 digits: "1e10", "1.5", "-1" and strings are malformed, not silently coerced.
type numericDate int64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || len(b) > 12 {
		return errors.New("numeric date out of range")
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return errors.New("numeric date is not an integer")
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	*d = numericDate(n)
	return err
}

func (d numericDate) time() time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(int64(d), 0).UTC()
}

func unix(t time.Time) numericDate {
	if t.IsZero() {
		return 0
	}
	return numericDate(t.Unix())
}

// toWire lays c out as its kind requires: ID tokens carry no idtyp, appid, scp or roles, and
// access tokens carry no nonce, so one can never pass for the other.
func toWire(c Claims) wireClaims {
	w := wireClaims{Iss: c.Issuer, Aud: c.Audience, Sub: c.Subject, Oid: c.ObjectID, Tid: c.TenantID,
		Name: c.Name, AMR: c.AMR, AuthTime: unix(c.AuthTime), Iat: unix(c.IssuedAt), Nbf: unix(c.IssuedAt),
		Exp: unix(c.Expires), Uti: c.TokenID, Ver: version, Cid: c.CorrelationID}
	if c.PrincipalType == PrincipalUser || c.Kind == KindID {
		w.UPN, w.PreferredUsername = c.UPN, c.UPN
	}
	if c.Kind == KindID {
		w.Nonce = c.Nonce
		return w
	}
	w.Idtyp, w.AppID, w.Azp, w.Scp, w.Roles = c.PrincipalType, c.AppID, c.AppID, c.Scope, c.Roles
	return w
}

// fromWire is the inverse of toWire for a token of the given kind.
func fromWire(w wireClaims, kind string) Claims {
	c := Claims{Kind: kind, Issuer: w.Iss, TenantID: w.Tid, Subject: w.Sub, ObjectID: w.Oid,
		PrincipalType: w.Idtyp, AppID: w.AppID, Audience: w.Aud, UPN: w.PreferredUsername, Name: w.Name,
		Scope: w.Scp, Roles: w.Roles, AMR: w.AMR, AuthTime: w.AuthTime.time(), Nonce: w.Nonce,
		TokenID: w.Uti, IssuedAt: w.Iat.time(), Expires: w.Exp.time(), CorrelationID: w.Cid}
	if kind == KindID {
		c.PrincipalType, c.AppID = PrincipalUser, w.Aud
	}
	return c
}

// kindOf decides which kind a verified token is from its header type and its claims, which
// must agree; "" means neither.
func kindOf(typ string, w wireClaims) string {
	access := w.Nonce == "" && (w.Idtyp == PrincipalUser || w.Idtyp == PrincipalApp) && w.AppID != "" && w.Azp == w.AppID
	id := w.Idtyp == "" && w.AppID == "" && w.Azp == "" && w.Scp == "" && len(w.Roles) == 0
	switch {
	case typ == typAccess && access:
		return KindAccess
	case typ == typID && id:
		return KindID
	}
	return ""
}

// complete checks claims handed to Sign and fills TokenID, IssuedAt and Expires.
func (s *Service) complete(c Claims, now time.Time) (Claims, error) {
	if err := checkClaims(c); err != nil {
		return Claims{}, err
	}
	if c.TokenID == "" {
		c.TokenID = newTokenID()
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	c.IssuedAt = c.IssuedAt.Truncate(time.Second).UTC()
	if c.Expires.IsZero() {
		c.Expires = c.IssuedAt.Add(s.lifetime(c.Kind))
	}
	c.Expires = c.Expires.Truncate(time.Second).UTC()
	c.AuthTime = c.AuthTime.Truncate(time.Second).UTC()
	if !c.Expires.After(c.IssuedAt) || c.Expires.Sub(c.IssuedAt) > s.lifetime(c.Kind) {
		return Claims{}, fmt.Errorf("a %s token must expire within %v of being issued", c.Kind, s.lifetime(c.Kind))
	}
	// A token dated ahead of now could outlive its key's VerifyUntil.
	if c.IssuedAt.After(now.Add(s.cfg.Skew)) {
		return Claims{}, errors.New("a token cannot be issued in the future")
	}
	return c, nil
}

// checkClaims refuses claims that would make an ambiguous or unverifiable token.
func checkClaims(c Claims) error {
	switch {
	case c.Kind != KindAccess && c.Kind != KindID:
		return fmt.Errorf("unknown token kind %q", c.Kind)
	case !validTenantID(c.TenantID):
		return errors.New("the tenant id is missing or malformed")
	case c.Issuer == "" || c.Audience == "" || c.Subject == "" || c.ObjectID == "":
		return errors.New("iss, aud, sub and oid are required")
	case c.Kind == KindID:
		if c.PrincipalType == PrincipalApp || c.Scope != "" || len(c.Roles) > 0 {
			return errors.New("an ID token is for a user and carries no scp or roles")
		}
	case c.PrincipalType != PrincipalUser && c.PrincipalType != PrincipalApp:
		return fmt.Errorf("unknown principal type %q", c.PrincipalType)
	case c.AppID == "":
		return errors.New("an access token needs the client's app id")
	case c.Nonce != "":
		return errors.New("an access token carries no nonce")
	case c.PrincipalType == PrincipalApp && c.Scope != "":
		return errors.New("an app token carries roles, not delegated scopes")
	}
	return nil
}

// newTokenID is a uti like Entra's: 16 random bytes, base64url.
func newTokenID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validTenantID bounds what may be used to look keys up: tenant ids are GUIDs or short
// names, and a hostile tid must not reach the store as an arbitrary string.
func validTenantID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}
