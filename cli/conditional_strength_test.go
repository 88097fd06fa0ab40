package cli

import (
	"strings"
	"testing"
)

func TestAuthenticationStrengthCommands(t *testing.T) {
	h := newHarness(t)
	h.login()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/no-combinations", []string{"create", "--name", "x"}, 2, `"allowed-combinations" not set`},
		{"fail/empty-combination", []string{"create", "--name", "x", "--allowed-combinations", " , "}, 2, "an empty combination"},
		{"fail/show-missing", []string{"show", "--id", "Nope"}, 3, "Authentication strength 'Nope' is not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.run(append([]string{"conditional-access", "authentication-strength"}, tc.args...)...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, tc.code, tc.want)
			}
		})
	}
	ids := mustRun(t, h, "conditional-access", "authentication-strength", "list", "--query", "sort([].id)", "-o", "tsv")
	if !strings.Contains(ids, "00000000-0000-0000-0000-000000000002") || !strings.Contains(ids, "00000000-0000-0000-0000-000000000004") {
		t.Fatalf("built-ins not listed under Azure's ids: %q", ids)
	}
	s := decode(t, mustRun(t, h, "conditional-access", "authentication-strength", "create", "--name", "Keys", "--description", "hardware",
		"--allowed-combinations", "fido2", "--allowed-combinations", "password, softwareOath")).(map[string]any)
	want := `POST /v1.0/identity/conditionalAccess/authenticationStrength/policies? {"allowedCombinations":["fido2","password,softwareOath"],"description":"hardware","displayName":"Keys"}`
	if got := lastGraphRequest(h); got != want {
		t.Fatalf("create sent\n%s\nwant\n%s", got, want)
	}
	if got := decode(t, mustRun(t, h, "conditional-access", "authentication-strength", "show", "--id", "Phishing-resistant MFA")).(map[string]any); got["id"] != "00000000-0000-0000-0000-000000000004" {
		t.Fatalf("show built-in by name: %v", got)
	}
	mustRun(t, h, "conditional-access", "authentication-strength", "delete", "--id", s["id"].(string))
	if got := lastGraphRequest(h); got != "DELETE /v1.0/identity/conditionalAccess/authenticationStrength/policies/"+s["id"].(string)+"? null" {
		t.Fatalf("delete sent %q", got)
	}
}
