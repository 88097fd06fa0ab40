package httpapi

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
)

// The claims parameter on the authorization endpoint. A client refused with a claims
// challenge (ca_enforce.go) sends it back on its next sign-in, as Entra clients do; the
// pages honour its acrs values: a session whose sign-in does not satisfy every strength
// named is asked to step up, even when no policy targets the app of the request's own scope
// (the command line signs in again for the resource manager, while the refusal may have been
// for a machine's sign-in app). The token endpoint still decides every token by the policies.

// Caps on a claims parameter: a challenge names a few strengths, never more.
const (
	maxClaimsLen   = 4096
	maxClaimsACRSs = 16
)

// acrsOfClaims returns the strength ids a claims parameter's access_token.acrs names, none
// for "". It fails on text that is not such JSON or is over the caps.
func acrsOfClaims(claims string) ([]string, bool) {
	if claims == "" {
		return nil, true
	}
	if len(claims) > maxClaimsLen {
		return nil, false
	}
	var c struct {
		AccessToken struct {
			ACRS struct {
				Values []string `json:"values"`
			} `json:"acrs"`
		} `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(claims), &c); err != nil {
		return nil, false
	}
	v := c.AccessToken.ACRS.Values
	return v, len(v) <= maxClaimsACRSs
}

// claimsStepUp is the step-up decision for the acrs strengths methods do not satisfy, with
// d's custom strengths to look ids up in, or a refusal when the person's registered methods
// could not satisfy one either; false when methods satisfy all of them. Its error is a store
// failure.
func (s *Server) claimsStepUp(ctx context.Context, u directory.User, d caDecision, acrs, methods []string) (caDecision, bool, error) {
	var unmet []string
	for _, id := range acrs {
		st := strengthByID(id, d.Custom) // ca_machine.go
		if st.DisplayName != "" && !conditional.Satisfies(st, methods) {
			unmet = append(unmet, id)
		}
	}
	if len(unmet) == 0 {
		return caDecision{}, false, nil
	}
	registered, err := s.registeredMethods(ctx, u)
	if err != nil {
		return caDecision{}, false, err
	}
	res := conditional.Result{Outcome: conditional.StepUp, StepUpStrengths: unmet,
		Message: conditional.MessageMethodNotAllowed, ErrorCode: conditional.CodeMFARequired,
		Detail: "The application asked for a sign-in that meets " + strings.Join(unmet, ", ") + "."}
	for _, id := range unmet {
		// A page offering a passkey the person has not got would be a dead end.
		if !conditional.Satisfies(strengthByID(id, d.Custom), registered) {
			res.Outcome = conditional.Deny
			res.Detail = "The application asked for a sign-in with a method you have not registered (" + id + ")."
		}
	}
	d.Result = conditional.Compact{Result: res}
	return d, true, nil
}

// passkeyOnly reports whether a built-in strength among acrs is one that a password and an
// authenticator app's code cannot meet, so the first page may offer the passkey alone.
func passkeyOnly(acrs []string) bool {
	for _, id := range acrs {
		st, ok := conditional.BuiltInStrength(id)
		if ok && !conditional.Satisfies(st, []string{authn.MethodPassword, authn.MethodSoftwareOath}) {
			return true
		}
	}
	return false
}
