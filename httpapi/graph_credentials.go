package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Client secrets: addPassword and removePassword on either view of an application.

// maxSecretsPerApp bounds the secrets one application holds, so rotation scripts that never
// remove old secrets fail loudly instead of growing the record without end.
const maxSecretsPerApp = 50

// graphDateTime reads Graph's DateTimeOffset: RFC 3339, or a date-time without zone (UTC).
type graphDateTime struct{ time.Time }

func (d *graphDateTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			d.Time = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("'%s' is not a date-time such as 2030-01-31T00:00:00Z", truncate(s, 40))
}

// passwordCredentialIn is Graph's passwordCredential as clients send it. Some SDKs send every
// property, with nulls for those the server assigns; a non-null one is refused below.
type passwordCredentialIn struct {
	DisplayName         string          `json:"displayName"`
	StartDateTime       *graphDateTime  `json:"startDateTime"`
	EndDateTime         *graphDateTime  `json:"endDateTime"`
	KeyID               json.RawMessage `json:"keyId"`
	SecretText          json.RawMessage `json:"secretText"`
	Hint                json.RawMessage `json:"hint"`
	CustomKeyIdentifier json.RawMessage `json:"customKeyIdentifier"`
}

type addPasswordBody struct {
	PasswordCredential *passwordCredentialIn `json:"passwordCredential"`
}

// lifetime checks the requested validity and returns its start and length.
func (p *passwordCredentialIn) lifetime(now time.Time) (time.Time, time.Duration, error) {
	const op = "httpapi.addPassword"
	for _, raw := range []json.RawMessage{p.KeyID, p.SecretText, p.Hint, p.CustomKeyIdentifier} {
		if len(raw) > 0 && string(raw) != "null" {
			return now, 0, graphBadRequest(op, "keyId, secretText, hint and customKeyIdentifier are chosen by the directory; leave them out.")
		}
	}
	start := now
	if p.StartDateTime != nil {
		start = p.StartDateTime.Time
	}
	if p.EndDateTime == nil {
		return start, 0, nil // authn's default, two years as Graph's
	}
	if !p.EndDateTime.After(now) || !p.EndDateTime.After(start) {
		return start, 0, graphBadRequest(op, "The endDateTime must be in the future and after startDateTime.")
	}
	return start, p.EndDateTime.Sub(start), nil
}

// addPassword serves POST /{applications|servicePrincipals}/{id}/addPassword: a new client
// secret, whose text is shown in this answer and never again.
func (s *Server) addPassword(v spView) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		const op = "httpapi.addPassword"
		ctx := r.Context()
		if err := s.authorizeWrite(ctx, c, v.collection, directory.ActionUpdate); err != nil {
			return err
		}
		var body addPasswordBody
		if err := readGraphJSON(r, &body); err != nil {
			return err
		}
		if body.PasswordCredential == nil {
			body.PasswordCredential = &passwordCredentialIn{}
		}
		start, life, err := body.PasswordCredential.lifetime(s.now())
		if err != nil {
			return err
		}
		sp, err := v.lookup(s, ctx, c.TenantID, r.PathValue("id"))
		if err != nil {
			return err
		}
		if err := s.checkSPChange(ctx, c, sp, "add a secret to"); err != nil {
			return err
		}
		secret, cred, err := authn.NewClientSecret(start, life, body.PasswordCredential.DisplayName)
		if err != nil {
			return asGraphError(op, sp.ID, err)
		}
		_, err = s.Store.UpdateServicePrincipal(ctx, c.TenantID, sp.ID, func(sp directory.ServicePrincipal) (directory.ServicePrincipal, error) {
			if len(sp.PasswordCredentials) >= maxSecretsPerApp {
				return sp, graphBadRequest(op, "The application already has 50 client secrets; remove unused ones with removePassword first.")
			}
			sp.PasswordCredentials = append(sp.PasswordCredentials, cred)
			return sp, nil
		})
		if err != nil {
			return asGraphError(op, sp.ID, err)
		}
		out := passwordCredentialsJSON([]directory.PasswordCredential{cred})[0]
		out["@odata.context"] = s.odataContext(r, "microsoft.graph.passwordCredential")
		out["secretText"] = secret
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

type removePasswordBody struct {
	KeyID string `json:"keyId"`
}

// removePassword serves POST …/removePassword {"keyId"}.
func (s *Server) removePassword(v spView) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		const op = "httpapi.removePassword"
		ctx := r.Context()
		if err := s.authorizeWrite(ctx, c, v.collection, directory.ActionUpdate); err != nil {
			return err
		}
		var body removePasswordBody
		if err := readGraphJSON(r, &body); err != nil {
			return err
		}
		sp, err := v.lookup(s, ctx, c.TenantID, r.PathValue("id"))
		if err != nil {
			return err
		}
		if err := s.checkSPChange(ctx, c, sp, "remove a secret from"); err != nil {
			return err
		}
		keyID := strings.ToLower(strings.TrimSpace(body.KeyID))
		_, err = s.Store.UpdateServicePrincipal(ctx, c.TenantID, sp.ID, func(sp directory.ServicePrincipal) (directory.ServicePrincipal, error) {
			kept := sp.PasswordCredentials[:0:0]
			for _, pc := range sp.PasswordCredentials {
				if !strings.EqualFold(pc.KeyID, keyID) {
					kept = append(kept, pc)
				}
			}
			if len(kept) == len(sp.PasswordCredentials) {
				return sp, errs.E(op, errs.NotFound, errs.Code("Request_ResourceNotFound"),
					"No password credential with keyId '"+truncate(body.KeyID, 64)+"' exists on '"+sp.DisplayName+"'.")
			}
			sp.PasswordCredentials = kept
			return sp, nil
		})
		if err != nil {
			return err
		}
		noContent(w)
		return nil
	}
}
