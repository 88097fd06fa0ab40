package authn

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/latchsh/latch/errs"
)

// Codes carried by passkey and device-key refusals, so pages and the CLI can choose what to
// offer next (start again, use another way, register again) without parsing sentences.
const (
	CodeChallengeExpired = errs.Code("challenge_expired") // start the ceremony again
	CodePasskeyInvalid   = errs.Code("passkey_invalid")   // the response failed verification
	CodePasskeyUnknown   = errs.Code("passkey_unknown")   // no such credential in the tenant (or not this user's)
	CodePasskeyCloned    = errs.Code("passkey_cloned")    // the sign counter went backwards: blocked
	CodePasskeyExists    = errs.Code("passkey_exists")    // that credential is registered already
	CodeNoPasskey        = errs.Code("no_passkey")        // the user has no passkey to sign in with
)

// newChallengeID returns 192 random bits, base64url: a challenge id travels in a page and is
// as good as a ceremony handle, so it must not be guessable.
func newChallengeID() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// refused wraps a verification failure from the WebAuthn library. The person sees a sentence
// that says what to do; the library's detail (which check failed) goes to the log.
func refused(op string, err error) error {
	msg := "Your passkey's answer could not be verified, so you were not signed in. Try again, or use another way to sign in."
	var pe *protocol.Error
	if errors.As(err, &pe) {
		msg = refusalMessage(pe, msg)
	}
	return errs.E(op, errs.Unauthenticated, CodePasskeyInvalid, msg, libCause(err))
}

// libCause spells out a WebAuthn library error for the log: its Error method gives only the
// summary, and the check that failed is in DevInfo.
func libCause(err error) error {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		return err
	}
	msg := pe.Type + ": " + pe.Details
	if pe.DevInfo != "" && (pe.Err == nil || pe.DevInfo != pe.Err.Error()) {
		msg += ": " + pe.DevInfo
	}
	if pe.Err != nil {
		return fmt.Errorf("%s: %w", msg, libCause(pe.Err))
	}
	return errors.New(msg)
}

// refusalMessage names the failures a person can do something about.
func refusalMessage(pe *protocol.Error, fallback string) string {
	d := strings.ToLower(pe.Details + " " + pe.DevInfo)
	switch {
	case strings.Contains(d, "origin"):
		return "The passkey was used from a website other than this sign-in page, so it was refused. Open the sign-in page at its usual address and try again."
	case strings.Contains(d, "user verification") || strings.Contains(d, "user presence"):
		return "Your authenticator did not confirm it was you (with a PIN, fingerprint or face). Try again and unlock it when asked."
	case strings.Contains(d, "challenge"):
		return "The passkey answered a different sign-in request. Start again."
	}
	return fallback
}
