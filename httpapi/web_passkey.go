package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
)

// Passkey ceremonies from the pages' script: it asks for options (JSON), lets the browser
// talk to the authenticator, and posts the result back in a normal form, so that the outcome
// is a page like any other.

// ceremonyJSON is what the script gets to start a ceremony: the options for
// navigator.credentials ({"publicKey": …}) and the challenge id it posts back.
type ceremonyJSON struct {
	ChallengeID string          `json:"challengeId"`
	Options     json.RawMessage `json:"options"`
}

// handlePasskeyLoginOptions starts a discoverable passkey sign-in in the tenant the page was
// for: the person picks a passkey and it names the user.
func (s *Server) handlePasskeyLoginOptions(c *webCtx) error {
	t, err := s.Store.GetTenant(c.r.Context(), c.r.PostForm.Get("tenant"))
	if err != nil {
		c.jsonError(errs.E("httpapi.passkeyLoginOptions", errs.Invalid, "This sign-in page is out of date. Reload it and try again."))
		return nil
	}
	pk, err := s.passkeys()
	if err != nil {
		c.jsonError(err)
		return nil
	}
	opts, id, err := pk.BeginLogin(c.r.Context(), t.ID, nil)
	if err != nil {
		c.jsonError(err)
		return nil
	}
	writeJSON(c.w, http.StatusOK, ceremonyJSON{ChallengeID: id, Options: opts})
	return nil
}

// handlePasskeyRegisterOptions starts registering a passkey for the signed-in person.
func (s *Server) handlePasskeyRegisterOptions(c *webCtx) error {
	pk, err := s.passkeys()
	if err != nil {
		c.jsonError(err)
		return nil
	}
	opts, id, err := pk.BeginRegistration(c.r.Context(), c.user)
	if err != nil {
		c.jsonError(err)
		return nil
	}
	writeJSON(c.w, http.StatusOK, ceremonyJSON{ChallengeID: id, Options: opts})
	return nil
}

// handlePasskeyRegister finishes a registration the script started.
func (s *Server) handlePasskeyRegister(c *webCtx) error {
	const op = "httpapi.passkeyRegister"
	pf := c.r.PostForm
	if pf.Get("challenge") == "" || pf.Get("credential") == "" {
		return s.securityInfoError(c, errs.E(op, errs.Invalid, "The passkey was not created. Try again; your browser or device may not support passkeys."))
	}
	pk, err := s.passkeys()
	if err != nil {
		return err
	}
	name := strings.TrimSpace(pf.Get("name"))
	if name == "" {
		name = "Passkey"
	}
	if _, err := pk.FinishRegistration(c.r.Context(), c.user, pf.Get("challenge"), []byte(pf.Get("credential")), name); err != nil {
		return s.securityInfoError(c, err)
	}
	return s.securityInfoDone(c, "Your passkey was added. Next time, sign in with it.")
}

// handlePasskeyRename names one of the person's passkeys.
func (s *Server) handlePasskeyRename(c *webCtx) error {
	const op = "httpapi.passkeyRename"
	name := strings.TrimSpace(c.r.PostForm.Get("name"))
	if name == "" || len([]rune(name)) > 64 {
		return s.securityInfoError(c, errs.E(op, errs.Invalid, "Give the passkey a name of 1 to 64 characters."))
	}
	p, err := s.ownPasskey(c)
	if err != nil {
		return s.securityInfoError(c, err)
	}
	_, err = s.methods().UpdatePasskey(c.r.Context(), p.TenantID, p.ID, func(cur authn.Passkey) (authn.Passkey, error) {
		cur.DisplayName = name
		return cur, nil
	})
	if err != nil {
		return s.securityInfoError(c, err)
	}
	return s.securityInfoDone(c, "The passkey was renamed.")
}

// handlePasskeyDelete removes one of the person's passkeys (or device keys).
func (s *Server) handlePasskeyDelete(c *webCtx) error {
	p, err := s.ownPasskey(c)
	if err != nil {
		return s.securityInfoError(c, err)
	}
	if err := s.methods().DeletePasskey(c.r.Context(), p.TenantID, p.ID); err != nil && !errs.Is(err, errs.NotFound) {
		return s.securityInfoError(c, err)
	}
	return s.securityInfoDone(c, "\""+p.DisplayName+"\" was removed. It can no longer be used to sign in.")
}

// ownPasskey finds the passkey named in the path among the signed-in person's own.
func (s *Server) ownPasskey(c *webCtx) (authn.Passkey, error) {
	list, err := s.methods().ListPasskeys(c.r.Context(), c.user.TenantID, c.user.ID)
	if err != nil {
		return authn.Passkey{}, err
	}
	for _, p := range list {
		if p.ID == c.r.PathValue("id") {
			return p, nil
		}
	}
	return authn.Passkey{}, errs.E("httpapi.ownPasskey", errs.NotFound, "That passkey does not exist any more.")
}

// jsonError answers a script's request with the error's message.
func (c *webCtx) jsonError(err error) {
	c.s.logError(c.r, err, errs.KindOf(err))
	writeJSON(c.w, statusOf(errs.KindOf(err)), map[string]any{"error": map[string]string{
		"message": userMessage(err), "correlationId": CorrelationID(c.r.Context())}})
}
