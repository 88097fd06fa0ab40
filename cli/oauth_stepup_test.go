package cli

import (
	"errors"
	"strings"
	"testing"
)

const articleMsg = "The sign-in method you're trying to use isn't allowed. Try a different sign-in method or contact your system administrator."

func TestConditionalAccessRefusal(t *testing.T) {
	phishing := `{"access_token":{"acrs":{"essential":true,"values":["00000000-0000-0000-0000-000000000004"]}}}`
	custom := `{"access_token":{"acrs":{"essential":true,"values":["6c0d0e55-1c4e-4b5c-9d6e-2a3b4c5d6e7f"]}}}`
	body := func(code, claims string) []byte {
		return []byte(`{"error":"interaction_required","error_codes":[` + code + `],"claims":` + quote(claims) + `}`)
	}
	cases := []struct {
		name, desc string
		body       []byte
		stepUp     bool
		want       []string
		not        string
	}{
		{name: "fail/not-json", desc: "AADSTS50076: x", body: []byte("<html>"), stepUp: false},
		{name: "fail/other-error", desc: "AADSTS70000: bad grant", body: []byte(`{"error_codes":[70000]}`), stepUp: false},
		{name: "fail/number-mismatch", desc: "AADSTS50105: role", body: body("50076", phishing), stepUp: false},
		{name: "ok/step-up-phishing-resistant", desc: "AADSTS50076: " + articleMsg + " The policy 'VM' (p1) requires more.\r\nTrace ID: x",
			body: body("50076", phishing), stepUp: true, want: []string{articleMsg, "'VM'", "Sign in again with a passkey: latch login"}, not: "--passkey"},
		{name: "ok/step-up-custom-strength-names-device-key", desc: "AADSTS50076: " + articleMsg, body: body("50076", custom),
			stepUp: true, want: []string{"latch login --passkey"}},
		{name: "ok/blocked-no-hint", desc: "AADSTS53003: Access has been blocked by Conditional Access policies.",
			body: []byte(`{"error":"invalid_grant","error_codes":[53003]}`), stepUp: true, want: []string{"Access has been blocked"}, not: "latch login"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oe := &oauthError{Code: "interaction_required", Description: tc.desc, CorrelationID: "cid"}
			err := conditionalAccessRefusal(oe, tc.body)
			var su *stepUpError
			if errors.As(err, &su) != tc.stepUp {
				t.Fatalf("got %T %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err.Error(), w)
				}
			}
			if tc.not != "" && strings.Contains(err.Error(), tc.not) {
				t.Errorf("%q has %q", err.Error(), tc.not)
			}
			if correlationOf(err) != "cid" {
				t.Errorf("correlation id lost")
			}
		})
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func FuzzConditionalAccessRefusal(f *testing.F) {
	f.Add("AADSTS50076: "+articleMsg, []byte(`{"error_codes":[50076],"claims":"{}"}`))
	f.Add("AADSTS53003: blocked", []byte(`{"error_codes":[53003]}`))
	f.Fuzz(func(t *testing.T, desc string, body []byte) {
		oe := &oauthError{Code: "interaction_required", Description: desc}
		if err := conditionalAccessRefusal(oe, body); err == nil || err.Error() == "" {
			t.Fatal("no error text")
		}
	})
}
