package authn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchsh/latch/errs"
)

// PasskeyConfig says which website passkeys belong to.
//
// Origins are matched exactly (scheme, host and port; a default port may be written or left
// out). An origin on a subdomain of RPID is NOT accepted unless it is listed: a sibling site
// that can run script (a wiki, a preview deployment) must not be able to ask for assertions
// that sign people in here. To serve sign-in on several hosts, list every one.
type PasskeyConfig struct {
	RPID          string        // the relying party id, e.g. "login.contoso.test"; a domain, never an IP address
	RPDisplayName string        // shown by the authenticator, e.g. "Latch"
	Origins       []string      // e.g. "https://login.contoso.test"
	Timeout       time.Duration // how long a ceremony may take; default DefaultPasskeyTimeout
}

// DefaultPasskeyTimeout is how long a person has to touch their authenticator: long enough to
// find a security key in a bag, short enough that a stolen options page goes stale.
const DefaultPasskeyTimeout = 5 * time.Minute

// MaxWebAuthnResponse caps the JSON a browser may send back. Real responses are a few KiB
// (a packed attestation with a certificate chain stays under 8 KiB); the cap keeps a hostile
// client from making the parsers chew megabytes.
const MaxWebAuthnResponse = 64 << 10

// Challenge purposes, so that a challenge made for one ceremony cannot finish another.
const (
	purposeRegister    = "register"
	purposeLogin       = "login"
	purposeDeviceLogin = "device-login"
)

// PasskeyStore is the part of the store passkeys need. store.AuthMethodStore satisfies it;
// see there for the error kinds each method returns.
type PasskeyStore interface {
	CreatePasskey(ctx context.Context, p Passkey) error
	GetPasskeyByCredentialID(ctx context.Context, tenantID string, credentialID []byte) (Passkey, error)
	ListPasskeys(ctx context.Context, tenantID, userID string) ([]Passkey, error)
	UpdatePasskey(ctx context.Context, tenantID, id string, fn func(Passkey) (Passkey, error)) (Passkey, error)
	CreateChallenge(ctx context.Context, c Challenge) error
	ConsumeChallenge(ctx context.Context, tenantID, id string, now time.Time) (Challenge, error)
}

// Passkeys runs WebAuthn registration and sign-in ceremonies and the device-bound CLI key's
// sign-in. It keeps no state of its own (challenges live in the store), so any number of
// replicas can share one store, and a ceremony begun on one may finish on another. It is safe
// for concurrent use.
type Passkeys struct {
	wa      *webauthn.WebAuthn
	cfg     PasskeyConfig
	st      PasskeyStore
	now     func() time.Time
	origins []string
}

// PasskeyAMR is the amr a passkey sign-in earns: RFC 8176's "fido" and, because a passkey is
// something you have unlocked by something you are or know (user verification is required),
// "mfa".
func PasskeyAMR() []string { return []string{"fido", "mfa"} }

// NewPasskeys checks cfg and returns a Passkeys using st. now is the clock that decides
// challenge expiry (nil means time.Now). Errors: Invalid when the RP ID is not a domain name,
// the display name is empty or no origin is given.
func NewPasskeys(cfg PasskeyConfig, st PasskeyStore, now func() time.Time) (*Passkeys, error) {
	const op = "authn.NewPasskeys"
	if now == nil {
		now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultPasskeyTimeout
	}
	if st == nil || cfg.RPDisplayName == "" || len(cfg.Origins) == 0 {
		return nil, errs.E(op, errs.Invalid, "Passkeys need a store, a relying party display name and at least one origin.")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPDisplayName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
	})
	if err != nil || cfg.RPID == "" {
		return nil, errs.E(op, errs.Invalid, "The passkey relying party id must be a domain name such as login.contoso.test.", err)
	}
	return &Passkeys{wa: wa, cfg: cfg, st: st, now: now, origins: cfg.Origins}, nil
}

// credentialParameters are the key types Latch accepts: ES256 (every platform), EdDSA
// (security keys) and RS256 (Windows Hello). Fewer algorithms, fewer parsers an attacker can
// reach.
func credentialParameters() []protocol.CredentialParameter {
	var out []protocol.CredentialParameter
	for _, alg := range []webauthncose.COSEAlgorithmIdentifier{webauthncose.AlgES256, webauthncose.AlgEdDSA, webauthncose.AlgRS256} {
		out = append(out, protocol.CredentialParameter{Type: protocol.PublicKeyCredentialType, Algorithm: alg})
	}
	return out
}

// saveChallenge stores the library's session data as a single-use challenge and returns its id.
func (p *Passkeys) saveChallenge(ctx context.Context, op, tenantID, userID, purpose string, sd any) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", errs.E(op, errs.Internal, err)
	}
	c := Challenge{ID: newChallengeID(), TenantID: tenantID, UserID: userID, Purpose: purpose,
		Data: data, Expires: p.now().Add(p.cfg.Timeout)}
	if err := p.st.CreateChallenge(ctx, c); err != nil {
		return "", errs.E(op, errs.Internal, err)
	}
	return c.ID, nil
}

// takeChallenge consumes the challenge id and checks it was made for this ceremony (purpose
// and user; userID "" skips the user check). Whatever happens next, the challenge is gone:
// a failed attempt cannot be retried with the same one.
func (p *Passkeys) takeChallenge(ctx context.Context, op, tenantID, id, purpose, userID string) (Challenge, error) {
	c, err := p.st.ConsumeChallenge(ctx, tenantID, id, p.now())
	switch {
	case errs.Is(err, errs.Expired):
		return c, errs.E(op, errs.Expired, CodeChallengeExpired, "The sign-in request took too long and has expired. Start again.", err)
	case errs.Is(err, errs.NotFound):
		return c, errs.E(op, errs.Unauthenticated, CodeChallengeExpired, "This sign-in request was already used or is not known. Start again.", err)
	case err != nil:
		return c, errs.E(op, errs.Internal, err)
	}
	if c.Purpose != purpose || (userID != "" && c.UserID != userID) {
		return c, errs.E(op, errs.Unauthenticated, CodeChallengeExpired, "This sign-in request belongs to another sign-in or registration. Start again.",
			fmt.Errorf("challenge made for %s by user %q, presented for %s by user %q", c.Purpose, c.UserID, purpose, userID))
	}
	return c, nil
}

// sessionData decodes a challenge's stored session data.
func sessionData(op string, c Challenge) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return sd, errs.E(op, errs.Internal, err)
	}
	return sd, nil
}
