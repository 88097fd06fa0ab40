package httpapi

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
)

// The device-bound CLI key (`latch passkey register --device`, `latch login --passkey`): the
// CLI registers a P-256 public key with its access token, and later signs a challenge with
// the private key to get tokens without a browser.
//
//	POST /v1.0/me/authentication/deviceKeyMethods                 register (Graph token)
//	POST /{tenant}/oauth2/v2.0/devicekey/challenge                   credential_id → challenge
//	POST /{tenant}/oauth2/v2.0/token  grant_type=urn:latch:grant-type:device-key
const grantDeviceKeyURN = "urn:latch:grant-type:device-key"

func (s *Server) deviceKeyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1.0/me/authentication/deviceKeyMethods", s.graph(s.registerDeviceKey))
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicekey/challenge", s.handleDeviceKeyChallenge)
}

// deviceKeyRequest is the registration body.
type deviceKeyRequest struct {
	PublicKey   string `json:"publicKey"` // PKIX DER, base64 (standard or URL alphabet)
	DisplayName string `json:"displayName"`
	Hardware    bool   `json:"hardware"`
}

// registerDeviceKey registers a device key for the signed-in user. Adding a sign-in method
// needs a sign-in that was itself multifactor (a passkey, a code, a Temporary Access Pass),
// so a stolen password alone cannot plant a key.
func (s *Server) registerDeviceKey(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.registerDeviceKey"
	if c.PrincipalType != token.PrincipalUser {
		return errs.E(op, errs.Invalid, errs.Code("BadRequest"), "/me request is only valid with delegated authentication flow.")
	}
	if !containsString(c.Claims.AMR, "mfa") {
		return errs.E(op, errs.PermissionDenied, errs.Code("Authorization_RequestDenied"),
			"Registering a device key needs a multifactor sign-in. Run 'latch login' and sign in with a passkey, an authenticator code or a Temporary Access Pass, then try again.")
	}
	var body deviceKeyRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	der, err := decodeB64(body.PublicKey)
	if err != nil || len(der) == 0 {
		return errs.E(op, errs.Invalid, errs.Code("BadRequest"), "publicKey must be a base64 PKIX DER P-256 public key.")
	}
	u, err := s.Store.GetUser(r.Context(), c.TenantID, c.ObjectID)
	if err != nil {
		return err
	}
	pk, err := s.passkeys()
	if err != nil {
		return err
	}
	key, err := pk.RegisterDeviceKey(r.Context(), u, der, body.DisplayName, body.Hardware)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": key.ID, "displayName": key.DisplayName,
		"credentialId": base64.RawURLEncoding.EncodeToString(key.CredentialID), "method": key.Method,
		"attestationType": key.AttestationType, "createdDateTime": key.Created})
	return nil
}

// handleDeviceKeyChallenge issues a single-use challenge for one registered device key.
func (s *Server) handleDeviceKeyChallenge(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.deviceKeyChallenge"
	a, err := s.resolveAuthority(r)
	if err == nil {
		err = parseForm(w, r)
	}
	var credID []byte
	if err == nil {
		if credID, err = decodeB64(r.PostForm.Get("credential_id")); err != nil || len(credID) == 0 {
			err = oauthErr(op, errs.Invalid, "invalid_request", "credential_id must be the device key's credential id, base64url.")
		}
	}
	var pk *authn.Passkeys
	if err == nil {
		pk, err = s.passkeys()
	}
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	challenge, id, err := pk.BeginDeviceLogin(r.Context(), a.Tenant.ID, credID)
	if err != nil {
		s.writeOAuthError(w, r, errs.E(op, errs.KindOf(err), errs.Code("invalid_grant"), errs.Message(err), err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"challenge": base64.RawURLEncoding.EncodeToString(challenge), "challenge_id": id})
}

// grantDeviceKey issues tokens for a signature over a device-key challenge. The amr says what
// the key proves: a software key, and a second factor only when the CLI says a PIN guarded it.
func (s *Server) grantDeviceKey(r *http.Request, a authority) (map[string]any, error) {
	const op = "httpapi.grantDeviceKey"
	c, err := s.authenticateClient(r.Context(), r, a)
	if err != nil {
		return nil, err
	}
	f := r.PostForm
	credID, err1 := decodeB64(f.Get("credential_id"))
	sig, err2 := decodeB64(f.Get("signature"))
	if err1 != nil || err2 != nil || len(credID) == 0 || len(sig) == 0 || f.Get("challenge_id") == "" {
		return nil, oauthErr(op, errs.Invalid, "invalid_request", "The device-key grant needs credential_id, challenge_id and signature (base64url).")
	}
	pk, err := s.passkeys()
	if err != nil {
		return nil, err
	}
	userID, _, err := pk.FinishDeviceLogin(r.Context(), a.Tenant.ID, f.Get("challenge_id"), credID, sig)
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), errs.Code("invalid_grant"), "Your credentials did not work: "+errs.Message(err), err)
	}
	g := userGrant{Client: c.SP, UserID: userID, Scope: f.Get("scope"),
		AMR: authn.DeviceKeyAMR(f.Get("pin_protected") == "true"), AuthTime: s.now()}
	return s.issueUserTokens(r, a, g)
}

// decodeB64 accepts base64 in either alphabet, padded or not.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if len(s) > 4096 {
		return nil, errs.E("httpapi.decodeB64", errs.Invalid, "value too long")
	}
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}
