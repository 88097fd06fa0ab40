package authn

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// The device-bound CLI credential is Latch's counterpart of Windows Hello for Business: a P-256
// key pair the CLI keeps (in a TPM when there is one, else in a 0600 file, optionally
// encrypted under a PIN). It is stored as a Passkey so people list and delete it with their
// passkeys, but it is never accepted in a browser ceremony, nor a passkey here.
//
// Honesty about its strength: the server cannot see where the private key lives or whether a
// PIN guarded it. Until TPM attestation is verified, every device key is recorded as
// MethodDeviceKey ("deviceBoundSoftwareKey"), even when the CLI says it used hardware; the
// claim is kept in AttestationType ("claimed-hardware") for inventory, never for policy.
// Likewise the PIN is the client's statement, reported through DeviceKeyAMR.

// deviceChallengePrefix separates what a device key signs from anything else it could be
// asked to sign, so a signature made here is useless elsewhere and the reverse.
const deviceChallengePrefix = "latch-device-login-v1:"

// Attestation types recorded for device keys.
const (
	deviceSoftware        = "software"
	deviceClaimedHardware = "claimed-hardware"
)

// DeviceCredentialID is the credential id of a device key: the SHA-256 of its public key in
// PKIX DER. The CLI computes it from its own key, so it needs to remember nothing else.
func DeviceCredentialID(publicKeyDER []byte) []byte {
	h := sha256.Sum256(publicKeyDER)
	return h[:]
}

// DeviceKeyAMR is the amr a device-key sign-in earns. "swk" (RFC 8176: a software-secured
// key) always, since hardware is not proven; "mfa" only when the CLI says a PIN unlocked the
// key, which makes it something you have plus something you know. The PIN claim cannot be
// verified by the server; policies wanting more must ask for a passkey.
func DeviceKeyAMR(pinProtected bool) []string {
	if pinProtected {
		return []string{"swk", "mfa"}
	}
	return []string{"swk"}
}

// RegisterDeviceKey registers the P-256 public key publicKeyDER (PKIX DER, as
// x509.MarshalPKIXPublicKey writes it) as user's device-bound CLI credential, with credential
// id DeviceCredentialID(publicKeyDER). hardware is the CLI's claim that a TPM holds the key:
// recorded, not trusted (see above). The caller must have signed the user in recently.
//
// Errors: Invalid when the key is not a P-256 public key or the user lacks ids; Exists
// (passkey_exists) when the key is registered already.
func (p *Passkeys) RegisterDeviceKey(ctx context.Context, user directory.User, publicKeyDER []byte, displayName string, hardware bool) (Passkey, error) {
	const op = "authn.RegisterDeviceKey"
	if user.ID == "" || user.TenantID == "" {
		return Passkey{}, errs.E(op, errs.Invalid, "A device key can only be registered for an existing user.")
	}
	cose, err := p256COSE(publicKeyDER)
	if err != nil {
		return Passkey{}, errs.E(op, errs.Invalid, "The device key must be a P-256 public key in PKIX DER form.", err)
	}
	att := deviceSoftware
	if hardware {
		att = deviceClaimedHardware
	}
	pk := Passkey{ID: newGUID(), TenantID: user.TenantID, UserID: user.ID, DisplayName: passkeyName(displayName),
		CredentialID: DeviceCredentialID(publicKeyDER), PublicKey: cose, AttestationType: att,
		Method: MethodDeviceKey, Created: p.now().UTC()}
	return pk, p.store(ctx, op, pk)
}

// p256COSE turns a PKIX P-256 key into the COSE_Key form passkeys are stored in.
func p256COSE(der []byte) ([]byte, error) {
	if len(der) > 512 {
		return nil, errors.New("key too long")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 key")
	}
	raw, err := ec.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	return webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: raw[1:33], YCoord: raw[33:],
	})
}

// deviceChallenge is what a device-login challenge stores: the bytes to be signed and the
// credential they were issued for.
type deviceChallenge struct {
	Challenge    []byte `json:"challenge"`
	CredentialID []byte `json:"credentialId"`
}

// BeginDeviceLogin issues a challenge for the device key credentialID in tenantID. The CLI
// signs the returned bytes exactly (ECDSA P-256 over their SHA-256, ASN.1 DER signature) and
// sends the signature to FinishDeviceLogin with challengeID before the passkey timeout.
//
// Errors: Unauthenticated (passkey_unknown) when no device key has that id in the tenant,
// (passkey_cloned) when it was blocked; Internal or Unavailable from the store.
func (p *Passkeys) BeginDeviceLogin(ctx context.Context, tenantID string, credentialID []byte) (challenge []byte, challengeID string, err error) {
	const op = "authn.BeginDeviceLogin"
	pk, err := p.credential(ctx, op, tenantID, credentialID, MethodDeviceKey)
	if err != nil {
		return nil, "", err
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	challenge = []byte(deviceChallengePrefix + base64.RawURLEncoding.EncodeToString(nonce))
	id, err := p.saveChallenge(ctx, op, tenantID, pk.UserID, purposeDeviceLogin,
		deviceChallenge{Challenge: challenge, CredentialID: credentialID})
	return challenge, id, err
}

// FinishDeviceLogin checks signature over the challenge challengeID issued for credentialID,
// and returns the id of the user it signs in and the device key (last use updated). The
// caller still checks the account (enabled, password state) as for any sign-in, and takes the
// amr from DeviceKeyAMR.
//
// Errors: Expired or Unauthenticated (challenge_expired) for a used, unknown, expired or
// foreign challenge, or one issued for another key; Unauthenticated (passkey_unknown) when the
// key was deleted meanwhile; Unauthenticated (passkey_invalid) for a bad signature.
func (p *Passkeys) FinishDeviceLogin(ctx context.Context, tenantID, challengeID string, credentialID, signature []byte) (userID string, key Passkey, err error) {
	const op = "authn.FinishDeviceLogin"
	c, err := p.takeChallenge(ctx, op, tenantID, challengeID, purposeDeviceLogin, "")
	if err != nil {
		return "", Passkey{}, err
	}
	var dc deviceChallenge
	if err := json.Unmarshal(c.Data, &dc); err != nil {
		return "", Passkey{}, errs.E(op, errs.Internal, err)
	}
	if !bytes.Equal(dc.CredentialID, credentialID) {
		return "", Passkey{}, errs.E(op, errs.Unauthenticated, CodeChallengeExpired, "This sign-in request was issued for a different device key. Start again.")
	}
	pk, err := p.credential(ctx, op, tenantID, credentialID, MethodDeviceKey)
	if err != nil {
		return "", Passkey{}, err
	}
	if pk.UserID != c.UserID || !verifyDeviceSignature(pk.PublicKey, dc.Challenge, signature) {
		return "", Passkey{}, errs.E(op, errs.Unauthenticated, CodePasskeyInvalid, "The device key's signature is not valid, so you were not signed in. Register this device again with latch passkey register --device.")
	}
	pk, err = p.touch(ctx, op, pk)
	return pk.UserID, pk, err
}

// verifyDeviceSignature checks an ASN.1 ECDSA signature by a stored P-256 COSE key.
func verifyDeviceSignature(cose, msg, sig []byte) bool {
	if len(sig) > 80 { // a DER P-256 signature is at most 72 bytes
		return false
	}
	k, err := webauthncose.ParsePublicKey(cose)
	if err != nil {
		return false
	}
	ec, ok := k.(webauthncose.EC2PublicKeyData)
	if !ok || ec.Algorithm != int64(webauthncose.AlgES256) {
		return false
	}
	pub, err := ec.ToECDSA()
	if err != nil {
		return false
	}
	h := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(pub, h[:], sig)
}

// touch records a device-key sign-in's time.
func (p *Passkeys) touch(ctx context.Context, op string, pk Passkey) (Passkey, error) {
	now := p.now().UTC()
	out, err := p.st.UpdatePasskey(ctx, pk.TenantID, pk.ID, func(cur Passkey) (Passkey, error) {
		cur.LastUsed = now
		return cur, nil
	})
	if err != nil {
		return Passkey{}, errs.E(op, errs.Internal, err)
	}
	return out, nil
}
