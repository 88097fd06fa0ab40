package httpapi

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// FuzzAADSTSNumber: the number a description starts with is read back exactly, and nothing
// else panics or yields a number.
func FuzzAADSTSNumber(f *testing.F) {
	f.Add("AADSTS50076: The sign-in method you're trying to use isn't allowed.", 0)
	f.Add("AADSTS: x", 53003)
	f.Add("", 1)
	f.Fuzz(func(t *testing.T, desc string, n int) {
		if n >= 0 {
			got, ok := aadstsNumber("AADSTS" + strconv.Itoa(n) + ": " + desc)
			if !ok || got != n {
				t.Fatalf("AADSTS%d read as %d %v", n, got, ok)
			}
		}
		aadstsNumber(desc)
	})
}

// FuzzClaimsChallenge: the challenge is JSON whose acrs values are the strengths given.
func FuzzClaimsChallenge(f *testing.F) {
	f.Add("00000000-0000-0000-0000-000000000004", "c1")
	f.Fuzz(func(t *testing.T, a, b string) {
		c := claimsChallenge([]string{a, b})
		var v struct {
			AccessToken struct {
				ACRS struct {
					Essential bool     `json:"essential"`
					Values    []string `json:"values"`
				} `json:"acrs"`
			} `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(c), &v); err != nil {
			t.Fatalf("%q: %v", c, err)
		}
		got := v.AccessToken.ACRS
		if !got.Essential || len(got.Values) != 2 {
			t.Fatalf("%q", c)
		}
	})
}

func TestMethodsOfAMR(t *testing.T) {
	cases := []struct {
		name string
		amr  []string
		want string
	}{
		{"fail/unknown-and-mfa-name-nothing", []string{"mfa", "rsa", "wia"}, "[]"},
		{"ok/password-and-code", []string{"pwd", "otp", "mfa"}, "[password softwareOath]"},
		{"ok/passkey", []string{"fido", "mfa"}, "[fido2]"},
		{"ok/device-key-once", []string{"swk", "swk"}, "[deviceBoundSoftwareKey]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := methodsOfAMR(tc.amr)
			if s := "[" + strings.Join(got, " ") + "]"; s != tc.want {
				t.Fatalf("got %s, want %s", s, tc.want)
			}
		})
	}
}
