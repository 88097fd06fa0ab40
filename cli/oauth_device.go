package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"time"
)

// deviceGrant is the device code grant type (RFC 8628), as az sends it.
const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// deviceCode is the device authorization response.
type deviceCode struct {
	UserCode        string  `json:"user_code"`
	DeviceCode      string  `json:"device_code"`
	VerificationURI string  `json:"verification_uri"`
	ExpiresIn       flexInt `json:"expires_in"`
	Interval        flexInt `json:"interval"`
	Message         string  `json:"message"`
}

// slowDownStep is how much longer to wait after "slow_down" (RFC 8628 §3.5).
const slowDownStep = 5 * time.Second

// deviceLogin runs the device code flow: print the server's instructions, then poll.
func (a *app) deviceLogin(ctx context.Context, c *client, ep *endpoints, scope string, hints signInHints) (*tokenResponse, error) {
	dc, err := c.requestDeviceCode(ctx, ep.DeviceEndpoint, scope, hints)
	if err != nil {
		return nil, err
	}
	msg := dc.Message
	if msg == "" {
		msg = "To sign in, use a web browser to open the page " + dc.VerificationURI + " and enter the code " + dc.UserCode + " to authenticate."
	}
	// Always shown, even with --only-show-errors: without it the login cannot finish.
	io.WriteString(a.stderr, msg+"\n")
	return a.pollDeviceCode(ctx, c, ep.TokenEndpoint, dc)
}

func (c *client) requestDeviceCode(ctx context.Context, endpoint, scope string, hints signInHints) (*deviceCode, error) {
	form := url.Values{"client_id": {cliClientID}, "scope": {scope}}
	hints.add(form)
	body, err := c.postForm(ctx, "device code", endpoint, form)
	if err != nil {
		return nil, err
	}
	var dc deviceCode
	if err := json.Unmarshal(body, &dc); err != nil || dc.DeviceCode == "" {
		return nil, failf("the server's device code answer is incomplete.")
	}
	return &dc, nil
}

// pollDeviceCode asks for the token every interval until the person has signed in, waiting
// longer after each "slow_down" and giving up when the code expires.
func (a *app) pollDeviceCode(ctx context.Context, c *client, tokenURL string, dc *deviceCode) (*tokenResponse, error) {
	interval := time.Duration(dc.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	life := time.Duration(dc.ExpiresIn) * time.Second
	if life <= 0 {
		life = 15 * time.Minute
	}
	deadline := a.now().Add(life)
	form := url.Values{"grant_type": {deviceGrant}, "client_id": {cliClientID}, "device_code": {dc.DeviceCode}}
	for a.now().Before(deadline) {
		if err := a.sleep(ctx, interval); err != nil {
			return nil, err
		}
		tr, err := c.requestToken(ctx, tokenURL, form)
		var oe *oauthError
		if err == nil || !errors.As(err, &oe) {
			return tr, err
		}
		switch oe.Code {
		case "authorization_pending":
		case "slow_down":
			interval += slowDownStep
		case "expired_token":
			return nil, errDeviceCodeExpired
		case "authorization_declined", "access_denied":
			return nil, failf("The sign-in was declined. Run 'latch login' to try again.")
		default:
			return nil, err
		}
	}
	return nil, errDeviceCodeExpired
}

var errDeviceCodeExpired = failf("The code expired before the sign-in was completed. Run 'latch login --use-device-code' again.")
