package authn

import (
	"bytes"
	"context"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// BeginLogin starts a passkey sign-in in tenantID. With user nil it is a discoverable sign-in:
// the browser offers whichever passkey for this site the person picks, and its user handle
// names the user. With a user it is sign-in by name: only that user's passkeys are allowed.
// It returns the JSON for navigator.credentials.get ({"publicKey": {…}}, binary fields
// base64url) and the single-use challenge id for FinishLogin.
//
// Errors: NotFound (code no_passkey) when the named user has no passkey, so the page can offer
// another way; Internal or Unavailable from the store.
func (p *Passkeys) BeginLogin(ctx context.Context, tenantID string, user *directory.User) (options []byte, challengeID string, err error) {
	const op = "authn.BeginLogin"
	if user == nil {
		assertion, sd, err := p.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, "", errs.E(op, errs.Internal, err)
		}
		return p.finishBegin(ctx, op, tenantID, "", purposeLogin, assertion, sd)
	}
	if user.TenantID != tenantID {
		return nil, "", errs.E(op, errs.Invalid, "The user is not in this tenant.")
	}
	allow, err := p.descriptors(ctx, op, *user, MethodFIDO2)
	if err != nil {
		return nil, "", err
	}
	if len(allow) == 0 {
		return nil, "", errs.E(op, errs.NotFound, CodeNoPasskey, "You have no passkey registered. Use another way to sign in, then register one.")
	}
	assertion, sd, err := p.wa.BeginLogin(waUser{u: *user, creds: credentials(allow)},
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", errs.E(op, errs.Internal, err)
	}
	return p.finishBegin(ctx, op, tenantID, user.ID, purposeLogin, assertion, sd)
}

func credentials(ds []protocol.CredentialDescriptor) []webauthn.Credential {
	out := make([]webauthn.Credential, len(ds))
	for i, d := range ds {
		out[i] = webauthn.Credential{ID: d.CredentialID, Transport: d.Transport}
	}
	return out
}

// FinishLogin verifies the browser's answer (the JSON of the PublicKeyCredential that
// navigator.credentials.get returned) to challengeID in tenantID, and returns the user it
// signs in and the passkey, with its counter and last use updated. lookupUser turns the
// credential's user handle (the object id's bytes) into the directory user; its error is
// returned wrapped, keeping its kind.
//
// Checked beyond the library's clientData, RP ID hash, flags and signature checks: the
// challenge was made for a sign-in in this tenant (and, for sign-in by name, for the user who
// owns the credential); the credential is a registered passkey (not a CLI device key); the
// user handle, when sent, names the credential's owner; the account is enabled; the sign
// counter went forward (both zero is allowed, as synced passkeys send zero). A counter that went
// backwards means the credential may have been copied: it is marked CloneWarning and refused,
// now and later, until the person deletes it and registers again.
//
// Errors: Expired or Unauthenticated (challenge_expired) for the challenge; Unauthenticated
// with passkey_unknown, passkey_invalid or passkey_cloned; PermissionDenied for a disabled
// account; Invalid for a response that cannot be read.
func (p *Passkeys) FinishLogin(ctx context.Context, tenantID, challengeID string, response []byte, lookupUser func(ctx context.Context, userHandle []byte) (directory.User, error)) (directory.User, Passkey, error) {
	const op = "authn.FinishLogin"
	c, err := p.takeChallenge(ctx, op, tenantID, challengeID, purposeLogin, "")
	if err != nil {
		return directory.User{}, Passkey{}, err
	}
	parsed, err := parseAssertion(op, response)
	if err != nil {
		return directory.User{}, Passkey{}, err
	}
	pk, err := p.credential(ctx, op, tenantID, parsed.RawID, MethodFIDO2)
	if err != nil {
		return directory.User{}, Passkey{}, err
	}
	user, err := p.owner(ctx, op, c, pk, parsed.Response.UserHandle, lookupUser)
	if err != nil {
		return directory.User{}, Passkey{}, err
	}
	if err := p.verifyAssertion(op, c, parsed, pk); err != nil {
		return directory.User{}, Passkey{}, err
	}
	pk, err = p.advance(ctx, op, pk, parsed.Response.AuthenticatorData)
	return user, pk, err
}

// parseAssertion caps and parses a sign-in response.
func parseAssertion(op string, response []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(response) == 0 || len(response) > MaxWebAuthnResponse {
		return nil, errs.E(op, errs.Invalid, CodePasskeyInvalid, "The passkey response is empty or too large.")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, CodePasskeyInvalid, "The passkey response could not be read. Try again.", libCause(err))
	}
	return parsed, nil
}

// credential finds a registered credential of the given method in the tenant. A credential of
// another method is "unknown" here: a CLI device key must not pass for a browser passkey
// (whose amr promises more) nor the reverse.
func (p *Passkeys) credential(ctx context.Context, op, tenantID string, credentialID []byte, method string) (Passkey, error) {
	pk, err := p.st.GetPasskeyByCredentialID(ctx, tenantID, credentialID)
	if errs.Is(err, errs.NotFound) || (err == nil && !sameKind(pk.Method, method)) {
		return Passkey{}, errs.E(op, errs.Unauthenticated, CodePasskeyUnknown,
			"This passkey is not registered for any account here. Use another way to sign in, or register it first.", err)
	}
	if err != nil {
		return Passkey{}, errs.E(op, errs.Internal, err)
	}
	if pk.CloneWarning {
		return Passkey{}, errs.E(op, errs.Unauthenticated, CodePasskeyCloned,
			"This passkey was blocked because it may have been copied. Sign in another way, delete it and register it again.")
	}
	return pk, nil
}

// sameKind groups the two device-key methods: a key registered as either is a device key.
func sameKind(have, want string) bool {
	isDevice := func(m string) bool { return m == MethodDeviceKey || m == MethodWindowsHello }
	return have == want || (isDevice(have) && isDevice(want))
}

// owner resolves and checks the user a credential signs in.
func (p *Passkeys) owner(ctx context.Context, op string, c Challenge, pk Passkey, userHandle []byte, lookup func(context.Context, []byte) (directory.User, error)) (directory.User, error) {
	if c.UserID != "" && c.UserID != pk.UserID {
		return directory.User{}, errs.E(op, errs.Unauthenticated, CodePasskeyUnknown,
			"This passkey belongs to a different account than the one you are signing in to.")
	}
	if c.UserID == "" && len(userHandle) == 0 {
		return directory.User{}, refused(op, errors.New("discoverable sign-in without a user handle"))
	}
	if len(userHandle) > 0 && !bytes.Equal(userHandle, []byte(pk.UserID)) {
		return directory.User{}, refused(op, errors.New("user handle does not name the credential's owner"))
	}
	u, err := lookup(ctx, []byte(pk.UserID))
	if err != nil && !errs.Is(err, errs.NotFound) {
		return directory.User{}, errs.E(op, errs.Internal, err)
	}
	if err != nil || u.ID != pk.UserID || u.TenantID != pk.TenantID {
		return directory.User{}, errs.E(op, errs.Unauthenticated, CodePasskeyUnknown, "This passkey's account no longer exists.", err)
	}
	if !u.AccountEnabled {
		return directory.User{}, errs.E(op, errs.PermissionDenied, "Your account is disabled. Ask your administrator to enable it.")
	}
	return u, nil
}

// verifyAssertion runs the library's checks with Latch's settings: exact origins, the
// configured RP ID, user presence and verification required, no cross-origin iframes.
func (p *Passkeys) verifyAssertion(op string, c Challenge, parsed *protocol.ParsedCredentialAssertionData, pk Passkey) error {
	sd, err := sessionData(op, c)
	if err != nil {
		return err
	}
	if len(sd.AllowedCredentialIDs) > 0 && !containsID(sd.AllowedCredentialIDs, parsed.RawID) {
		return refused(op, errors.New("credential not in the allowed list"))
	}
	err = parsed.Verify(sd.Challenge, p.cfg.RPID, "", p.origins, nil, nil,
		protocol.TopOriginExplicitVerificationMode, false, true, true, pk.PublicKey, protocol.SignaturePolicy{})
	if err != nil {
		return refused(op, err)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if flags.HasBackupEligible() != pk.BackupEligible || (!flags.HasBackupEligible() && flags.HasBackupState()) {
		return refused(op, errors.New("backup eligibility changed or backup state without eligibility"))
	}
	return nil
}

func containsID(ids [][]byte, id []byte) bool {
	for _, x := range ids {
		if bytes.Equal(x, id) {
			return true
		}
	}
	return false
}

// errCloned ends an update that found the counter going backwards, after it was recorded.
var errCloned = errors.New("sign counter went backwards")

// advance records the sign-in on the stored credential, compare-and-swap, so two concurrent
// assertions cannot both move the counter from the same value. The counter rule is judged on
// the row as it is now, not as it was read before verification.
func (p *Passkeys) advance(ctx context.Context, op string, pk Passkey, ad protocol.AuthenticatorData) (Passkey, error) {
	now := p.now().UTC()
	cloned := false
	out, err := p.st.UpdatePasskey(ctx, pk.TenantID, pk.ID, func(cur Passkey) (Passkey, error) {
		cloned = counterWentBack(cur.SignCount, ad.Counter) || cur.CloneWarning
		if cloned {
			cur.CloneWarning = true
			return cur, nil
		}
		cur.SignCount, cur.LastUsed, cur.BackupState = ad.Counter, now, ad.Flags.HasBackupState()
		return cur, nil
	})
	if err != nil {
		return Passkey{}, errs.E(op, errs.Internal, err)
	}
	if cloned {
		return Passkey{}, errs.E(op, errs.Unauthenticated, CodePasskeyCloned,
			"This passkey was blocked because it may have been copied (its use counter went backwards). Sign in another way, delete it and register it again.", errCloned)
	}
	return out, nil
}

// counterWentBack is the WebAuthn rule (§7.2 step 21): a new counter must exceed the stored
// one, except that authenticators that keep no counter (synced passkeys) send zero forever.
func counterWentBack(stored, got uint32) bool {
	if stored == 0 && got == 0 {
		return false
	}
	return got <= stored
}
