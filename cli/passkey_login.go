package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// deviceKeyGrant is the token endpoint's grant for a signature by a registered device key.
const deviceKeyGrant = "urn:latch:grant-type:device-key"

// signInWith picks the sign-in: the device key for --passkey, else the usual flows.
func (a *app) signInWith(ctx context.Context, c *client, ep *endpoints, o loginOptions) (*loginResult, error) {
	if !o.passkey {
		return a.signIn(ctx, c, ep, o)
	}
	if o.servicePrincipal || o.deviceCode {
		return nil, usagef("usage error: --passkey cannot be used with --service-principal or --use-device-code")
	}
	tr, err := a.deviceKeyLogin(ctx, c, ep, o)
	if err != nil {
		return nil, err
	}
	return a.userResult(ep, tr, "")
}

// deviceKeyLogin signs the server's challenge with this computer's device key, no browser.
func (a *app) deviceKeyLogin(ctx context.Context, c *client, ep *endpoints, o loginOptions) (*tokenResponse, error) {
	dir, err := a.configDir()
	if err != nil {
		return nil, err
	}
	st, err := loadDeviceKey(dir)
	if err != nil {
		return nil, err
	}
	if st.Server != o.server {
		return nil, failf("this computer's device key is registered with %s, not %s", st.Server, o.server)
	}
	key, err := st.privateKey(func() (string, error) { return a.readPIN("PIN for the device key: ") })
	if err != nil {
		return nil, err
	}
	challenge, id, err := c.deviceKeyChallenge(ctx, ep.TokenEndpoint, st.CredentialID)
	if err != nil {
		return nil, err
	}
	sig, err := signChallenge(key, challenge)
	if err != nil {
		return nil, err
	}
	pin := "false"
	if st.Sealed != nil {
		pin = "true"
	}
	return c.requestToken(ctx, ep.TokenEndpoint, url.Values{"grant_type": {deviceKeyGrant}, "client_id": {cliClientID},
		"scope": {scopeFor(armResource(o.server)) + " " + oidcScopes}, "credential_id": {st.CredentialID},
		"challenge_id": {id}, "signature": {base64.RawURLEncoding.EncodeToString(sig)}, "pin_protected": {pin}})
}

func signChallenge(key *ecdsa.PrivateKey, challenge []byte) ([]byte, error) {
	sum := sha256.Sum256(challenge)
	return ecdsa.SignASN1(rand.Reader, key, sum[:])
}

// deviceKeyChallenge asks the server for a single-use challenge for the key; its endpoint
// sits beside the token endpoint.
func (c *client) deviceKeyChallenge(ctx context.Context, tokenURL, credentialID string) ([]byte, string, error) {
	endpoint := strings.TrimSuffix(tokenURL, "/token") + "/devicekey/challenge"
	form := url.Values{"credential_id": {credentialID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", failf("invalid token endpoint %s: %v", tokenURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body, err := c.do(req)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		if oe := c.oauthErrorFrom(resp, body); oe.Code != "" {
			return nil, "", oe
		}
		return nil, "", c.apiErrorFrom(resp, body)
	}
	var out struct {
		Challenge   string `json:"challenge"`
		ChallengeID string `json:"challenge_id"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.ChallengeID == "" {
		return nil, "", failf("the server's device-key challenge could not be read")
	}
	ch, err := base64.RawURLEncoding.DecodeString(out.Challenge)
	if err != nil {
		return nil, "", failf("the server's device-key challenge could not be read")
	}
	return ch, out.ChallengeID, nil
}
