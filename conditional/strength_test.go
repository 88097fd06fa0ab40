package conditional

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
)

func TestSatisfies(t *testing.T) {
	mfa, _ := BuiltInStrength(MultifactorID)
	pwl, _ := BuiltInStrength(PasswordlessID)
	phish, _ := BuiltInStrength(PhishingResistID)
	custom := testStrengths[customID]
	cases := []struct {
		name     string
		strength Strength
		methods  []string
		want     bool
	}{
		{"fail/mfa-password-only", mfa, []string{"password"}, false},
		{"fail/mfa-totp-only", mfa, []string{"softwareOath"}, false},
		{"fail/mfa-device-key", mfa, []string{"deviceBoundSoftwareKey"}, false},
		{"fail/mfa-nothing", mfa, nil, false},
		{"fail/mfa-unknown-method", mfa, []string{"retinaScan"}, false},
		{"fail/passwordless-tap", pwl, []string{"temporaryAccessPassOneTime"}, false},
		{"fail/passwordless-password-totp", pwl, []string{"password", "softwareOath"}, false},
		{"fail/phish-device-key", phish, []string{"deviceBoundSoftwareKey"}, false},
		{"fail/phish-device-based-push", phish, []string{"deviceBasedPush"}, false},
		{"fail/phish-password-totp", phish, []string{"password", "softwareOath"}, false},
		{"fail/custom-totp", custom, []string{"password", "softwareOath"}, false},
		{"fail/empty-strength", Strength{}, []string{"fido2"}, false},
		{"ok/mfa-password-totp", mfa, []string{"password", "softwareOath"}, true},
		{"ok/mfa-totp-password-order", mfa, []string{"softwareOath", "password"}, true},
		{"ok/mfa-tap-one-time", mfa, []string{"temporaryAccessPassOneTime"}, true},
		{"ok/mfa-tap-multi-use", mfa, []string{"temporaryAccessPassMultiUse"}, true},
		{"ok/mfa-fido2", mfa, []string{"fido2"}, true},
		{"ok/passwordless-hello", pwl, []string{"windowsHelloForBusiness"}, true},
		{"ok/phish-fido2", phish, []string{"fido2"}, true},
		{"ok/phish-fido2-after-password", phish, []string{"password", "fido2"}, true},
		{"ok/custom-device-key", custom, []string{"deviceBoundSoftwareKey"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Satisfies(c.strength, c.methods); got != c.want {
				t.Fatalf("Satisfies(%s, %v) = %v", c.strength.DisplayName, c.methods, got)
			}
		})
	}
}

// TestBuiltInStrengths pins Azure's ids and combinations, and that phishing-resistant is a
// subset of passwordless, which is a subset of multifactor.
func TestBuiltInStrengths(t *testing.T) {
	b := BuiltInStrengths()
	if len(b) != 3 || b[0].ID != MultifactorID || b[1].ID != PasswordlessID || b[2].ID != PhishingResistID {
		t.Fatalf("built-ins %v", b)
	}
	if len(b[0].AllowedCombinations) != 19 || !slices.Equal(b[2].AllowedCombinations,
		Strings{"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"}) {
		t.Fatalf("combinations %v / %v", b[0].AllowedCombinations, b[2].AllowedCombinations)
	}
	for i := 1; i < 3; i++ {
		for _, c := range b[i].AllowedCombinations {
			if !slices.Contains(b[i-1].AllowedCombinations, c) {
				t.Errorf("%s allows %s but %s does not", b[i].DisplayName, c, b[i-1].DisplayName)
			}
		}
	}
	b[0].AllowedCombinations[0] = "changed"
	if again, _ := BuiltInStrength(MultifactorID); again.AllowedCombinations[0] == "changed" {
		t.Fatal("BuiltInStrengths shares its slices")
	}
}

func TestParseStrength(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"fail/unknown-method", `{"displayName":"x","allowedCombinations":["retinaScan"]}`, "retinaScan"},
		{"fail/not-offered", `{"displayName":"x","allowedCombinations":["password"]}`, "not a combination"},
		{"fail/duplicate", `{"displayName":"x","allowedCombinations":["fido2","fido2"]}`, "twice"},
		{"fail/duplicate-reordered", `{"displayName":"x","allowedCombinations":["password,sms","sms,password"]}`, "twice"},
		{"fail/empty", `{"displayName":"x","allowedCombinations":[]}`, "at least one"},
		{"fail/built-in-id", `{"id":"00000000-0000-0000-0000-000000000004","displayName":"x","allowedCombinations":["fido2"]}`, "built-in"},
		{"fail/unknown-field", `{"displayName":"x","allowedCombinations":["fido2"],"strict":false}`, "unknown field"},
		{"fail/configurations", `{"displayName":"x","allowedCombinations":["fido2"],"combinationConfigurations":[{"id":"1"}]}`, "combinationConfigurations"},
		{"ok/custom", `{"displayName":"Passkey or TOTP","description":"d","policyType":"builtIn","allowedCombinations":["fido2","password,softwareOath"]}`, ""},
		{"ok/device-key", `{"displayName":"Device key","allowedCombinations":["deviceBoundSoftwareKey"]}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseStrength([]byte(c.json))
			if c.want != "" {
				if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.PolicyType != PolicyTypeCustom {
				t.Errorf("policyType %q", s.PolicyType)
			}
			b, _ := json.Marshal(s)
			s2, err := ParseStrength(b)
			if b2, _ := json.Marshal(s2); err != nil || string(b) != string(b2) {
				t.Fatalf("round trip: %v\n%s\n%s", err, b, b2)
			}
		})
	}
	s, _ := ParseStrength([]byte(`{"displayName":"Device key","allowedCombinations":["deviceBoundSoftwareKey"]}`))
	if s.RequirementsSatisfied != "none" {
		t.Errorf("a device key alone is not proven multifactor, got %q", s.RequirementsSatisfied)
	}
}
