package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// maxPasskeyName bounds a passkey's display name (runes); longer names are cut, not refused.
const maxPasskeyName = 64

// waUser presents a directory user to the WebAuthn library. The user handle is the object id's
// bytes: stable across renames and free of personal data (a UPN would leak into authenticators).
type waUser struct {
	u     directory.User
	creds []webauthn.Credential
}

func (w waUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w waUser) WebAuthnName() string                       { return w.u.UserPrincipalName }
func (w waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }
func (w waUser) WebAuthnDisplayName() string {
	if w.u.DisplayName != "" {
		return w.u.DisplayName
	}
	return w.u.UserPrincipalName
}

// BeginRegistration starts registering a passkey for user. It returns the JSON to hand to
// navigator.credentials.create: {"publicKey": {…}} with binary fields in base64url (decode
// them, or use PublicKeyCredential.parseCreationOptionsFromJSON on the "publicKey" member),
// and the id of the single-use challenge to pass to FinishRegistration within the timeout.
// The user's existing passkeys are excluded, so one authenticator is not registered twice.
// Errors: Invalid when the user lacks an id or tenant; Internal or Unavailable from the store.
func (p *Passkeys) BeginRegistration(ctx context.Context, user directory.User) (options []byte, challengeID string, err error) {
	const op = "authn.BeginRegistration"
	if user.ID == "" || user.TenantID == "" {
		return nil, "", errs.E(op, errs.Invalid, "A passkey can only be registered for an existing user.")
	}
	exclude, err := p.descriptors(ctx, op, user, MethodFIDO2)
	if err != nil {
		return nil, "", err
	}
	creation, sd, err := p.wa.BeginRegistration(waUser{u: user},
		webauthn.WithExclusions(exclude), webauthn.WithCredentialParameters(credentialParameters()))
	if err != nil {
		return nil, "", errs.E(op, errs.Internal, err)
	}
	return p.finishBegin(ctx, op, user.TenantID, user.ID, purposeRegister, creation, sd)
}

// finishBegin stores the session data and encodes the options for the browser.
func (p *Passkeys) finishBegin(ctx context.Context, op, tenantID, userID, purpose string, options any, sd *webauthn.SessionData) ([]byte, string, error) {
	id, err := p.saveChallenge(ctx, op, tenantID, userID, purpose, sd)
	if err != nil {
		return nil, "", err
	}
	out, err := json.Marshal(options)
	if err != nil {
		return nil, "", errs.E(op, errs.Internal, err)
	}
	return out, id, nil
}

// descriptors lists the user's credentials of one method as WebAuthn descriptors.
func (p *Passkeys) descriptors(ctx context.Context, op string, user directory.User, method string) ([]protocol.CredentialDescriptor, error) {
	list, err := p.st.ListPasskeys(ctx, user.TenantID, user.ID)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	var out []protocol.CredentialDescriptor
	for _, k := range list {
		if k.Method == method {
			out = append(out, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType,
				CredentialID: k.CredentialID, Transport: transports(k.Transports)})
		}
	}
	return out, nil
}

func transports(ts []string) []protocol.AuthenticatorTransport {
	var out []protocol.AuthenticatorTransport
	for _, t := range ts {
		out = append(out, protocol.AuthenticatorTransport(t))
	}
	return out
}

// FinishRegistration verifies the browser's answer (the JSON of the PublicKeyCredential that
// navigator.credentials.create returned, with base64url binary fields) to the challenge
// challengeID, and stores the passkey under displayName.
//
// Checked: the challenge was made for registering this user and is unused and unexpired;
// clientData type, challenge and origin (exact); the RP ID hash; user presence and user
// verification; a supported key algorithm; the attestation statement ("none", or "packed"
// self or full attestation, which is recorded in AttestationType but not trusted, since no
// metadata service is consulted offline). The credential id must be new in the tenant.
//
// Errors: Expired or Unauthenticated (code challenge_expired) for a used, unknown, expired or
// foreign challenge; Unauthenticated (passkey_invalid) when verification fails; Invalid for
// an over-long or unparsable response; Exists (passkey_exists) when the credential is
// registered already, to this user or another.
func (p *Passkeys) FinishRegistration(ctx context.Context, user directory.User, challengeID string, response []byte, displayName string) (Passkey, error) {
	const op = "authn.FinishRegistration"
	c, err := p.takeChallenge(ctx, op, user.TenantID, challengeID, purposeRegister, user.ID)
	if err != nil {
		return Passkey{}, err
	}
	sd, err := sessionData(op, c)
	if err != nil {
		return Passkey{}, err
	}
	parsed, err := parseCreation(op, response)
	if err != nil {
		return Passkey{}, err
	}
	cred, err := p.wa.CreateCredential(waUser{u: user}, sd, parsed)
	if err != nil {
		return Passkey{}, refused(op, err)
	}
	if !cred.Flags.UserVerified || !cred.Flags.UserPresent { // the library checks; say it here too
		return Passkey{}, refused(op, errors.New("user presence or verification missing"))
	}
	if err := checkCredentialKey(cred.PublicKey); err != nil {
		return Passkey{}, errs.E(op, errs.Invalid, CodePasskeyInvalid, "Your authenticator sent a public key Latch cannot use. Try another authenticator.", err)
	}
	pk := p.newPasskey(user, cred, displayName)
	return pk, p.store(ctx, op, pk)
}

// checkCredentialKey parses the new credential's COSE key as sign-in will. With attestation
// "none" nothing else looks at the key before it is stored, and a key that cannot verify
// (wrong curve, point off the curve, missing coordinate) would make a passkey that never works.
func checkCredentialKey(cose []byte) error {
	k, err := webauthncose.ParsePublicKey(cose)
	if err != nil {
		return err
	}
	var alg int64
	switch k := k.(type) {
	case webauthncose.EC2PublicKeyData:
		alg = k.Algorithm
	case webauthncose.OKPPublicKeyData:
		alg = k.Algorithm
	case webauthncose.RSAPublicKeyData:
		alg = k.Algorithm
	}
	for _, p := range credentialParameters() {
		if int64(p.Algorithm) == alg {
			return nil
		}
	}
	return errors.New("credential key algorithm not offered")
}

// parseCreation caps and parses a registration response.
func parseCreation(op string, response []byte) (*protocol.ParsedCredentialCreationData, error) {
	if len(response) == 0 || len(response) > MaxWebAuthnResponse {
		return nil, errs.E(op, errs.Invalid, CodePasskeyInvalid, "The passkey response is empty or too large.")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, CodePasskeyInvalid, "The passkey response could not be read. Try again.", creationCause(response, err))
	}
	return parsed, nil
}

// creationCause finds out for the log why a registration response did not parse: the library
// reports a failed attestation object without saying what was wrong with it.
func creationCause(response []byte, err error) error {
	var ccr protocol.CredentialCreationResponse
	if json.Unmarshal(response, &ccr) == nil {
		if _, inner := ccr.AttestationResponse.Parse(); inner != nil {
			return fmt.Errorf("%w: %w", libCause(err), libCause(inner))
		}
	}
	return libCause(err)
}

func (p *Passkeys) newPasskey(user directory.User, cred *webauthn.Credential, displayName string) Passkey {
	var ts []string
	for _, t := range cred.Transport {
		ts = append(ts, string(t))
	}
	return Passkey{ID: newGUID(), TenantID: user.TenantID, UserID: user.ID,
		DisplayName: passkeyName(displayName), CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AttestationType: attestationType(cred.AttestationFormat, cred.AttestationType),
		AAGUID:          cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		Transports: ts, Method: MethodFIDO2, Created: p.now().UTC()}
}

// attestationType records what the authenticator proved about itself: "none", or the format
// and type, e.g. "packed:self" or "packed:basic_full".
func attestationType(format, typ string) string {
	if format == "" || format == "none" {
		return "none"
	}
	if typ == "basic_surrogate" { // the metadata service's name for self attestation
		typ = "self"
	}
	return format + ":" + typ
}

func passkeyName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Passkey"
	}
	if r := []rune(s); len(r) > maxPasskeyName {
		return string(r[:maxPasskeyName])
	}
	return s
}

// store saves a new credential, turning a taken credential id into a sentence.
func (p *Passkeys) store(ctx context.Context, op string, pk Passkey) error {
	err := p.st.CreatePasskey(ctx, pk)
	if errs.Is(err, errs.Exists) {
		return errs.E(op, errs.Exists, CodePasskeyExists, "This passkey is registered already. Use it to sign in, or register a different one.", err)
	}
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	return nil
}
