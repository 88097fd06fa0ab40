package cli

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Conditional Access refusals of the token service. A refused token or certificate request
// says what the person must do in words the policy's administrator chose (the Azure
// article's message, then the policy's name), and, for a step-up, how: sign in again with a
// passkey in the browser. On a terminal (stdin and stderr both, CI unset, no
// --only-show-errors) a refusal that carries a claims challenge starts that sign-in by itself
// (oauth_stepup_signin.go): the claims go to the server's pages, which then offer only the
// methods that meet them, the new tokens are stored as "latch login" stores them, and the
// refused request is made once more. Without a terminal the command exits with status 1 and
// the instruction, so a script never hangs on a prompt; after the person signs in again the
// same command succeeds, since it reads the new refresh token.
//
// A device key ("latch login --passkey") is a device-bound software key: it satisfies only the
// policies whose strength names deviceBoundSoftwareKey, never the built-in ones, so the
// instruction names it only for those.

// Entra's error numbers of the refusals Conditional Access makes.
const (
	aadMFARequired    = 50076
	aadMFARegister    = 50079
	aadBlocked        = 53003
	aadPasswordChange = 50055
	aadReauthenticate = 70044
)

// The built-in authentication strengths' ids; a device key satisfies none of them.
var builtInStrengths = map[string]bool{
	"00000000-0000-0000-0000-000000000002": true,
	"00000000-0000-0000-0000-000000000003": true,
	"00000000-0000-0000-0000-000000000004": true,
}

// stepUpError is a token request Conditional Access refused.
type stepUpError struct {
	oauth   *oauthError // the server's answer; keeps the correlation id reachable
	message string      // the article's message and the policy's detail
	hint    string      // what to run next, "" when nothing the person does helps
	claims  string      // the claims challenge a new interactive sign-in can meet, else ""
}

func (e *stepUpError) Error() string {
	if e.hint == "" {
		return e.message
	}
	return e.message + "\n" + e.hint
}

func (e *stepUpError) Unwrap() error { return e.oauth }

// conditionalAccessRefusal returns oe as a stepUpError when the answer body is a Conditional
// Access refusal, else oe itself.
func conditionalAccessRefusal(oe *oauthError, body []byte) error {
	if hc := hostConsentRefusal(oe, body); hc != nil { // ssh_hostconsent.go
		return hc
	}
	var shape struct {
		Codes  []int  `json:"error_codes"`
		Claims string `json:"claims"`
	}
	if json.Unmarshal(body, &shape) != nil || len(shape.Codes) != 1 {
		return oe
	}
	code := shape.Codes[0]
	msg, ok := articleMessage(oe.Description, code)
	if !ok {
		return oe
	}
	e := &stepUpError{oauth: oe, message: msg}
	switch code {
	case aadMFARequired, aadReauthenticate:
		e.hint = stepUpHint(shape.Claims)
		if oe.Code == "interaction_required" && json.Valid([]byte(shape.Claims)) {
			e.claims = shape.Claims
		}
	case aadMFARegister:
		e.hint = "Register a passkey first (sign in at the server's /securityinfo page), then sign in again: latch login"
	case aadPasswordChange:
		e.hint = "Change your password in the browser, then sign in again: latch login"
	case aadBlocked:
	default:
		return oe
	}
	return e
}

// articleMessage is the description without its "AADSTSnnnnn: " prefix and the trace lines,
// when it starts with the number code.
func articleMessage(desc string, code int) (string, bool) {
	rest, ok := strings.CutPrefix(desc, "AADSTS"+strconv.Itoa(code)+": ")
	if !ok {
		return "", false
	}
	msg, _, _ := strings.Cut(rest, "\r\n")
	return strings.TrimSpace(msg), true
}

// stepUpHint says how to sign in again for the strengths the claims challenge names.
func stepUpHint(claims string) string {
	var c struct {
		AccessToken struct {
			ACRS struct {
				Values []string `json:"values"`
			} `json:"acrs"`
		} `json:"access_token"`
	}
	hint := "Sign in again with a passkey: latch login"
	if json.Unmarshal([]byte(claims), &c) != nil {
		return hint
	}
	for _, v := range c.AccessToken.ACRS.Values {
		if !builtInStrengths[v] {
			return hint + " (or, where the policy accepts this computer's device key: latch login --passkey)"
		}
	}
	return hint
}
