package cli

import "strings"

// conditionalAccessParts maps the Conditional Access collections' multi-segment paths to one
// collection of the fake (namedLocations, authenticationStrengthPolicies), creating it on first
// use, and leaves other paths alone. The strengths collection starts with the three built-ins,
// under Azure's ids, as the real server lists them.
func (g *fakeGraph) conditionalAccessParts(p []string) []string {
	if len(p) < 3 || p[0] != "identity" || p[1] != "conditionalAccess" {
		return p
	}
	name, rest := p[2], p[3:]
	if name == "authenticationStrength" && len(rest) > 0 && rest[0] == "policies" {
		name, rest = "authenticationStrengthPolicies", rest[1:]
	}
	if g.objects[name] == nil {
		g.objects[name] = map[string]map[string]any{}
		if name == "authenticationStrengthPolicies" {
			for id, n := range map[string]string{"00000000-0000-0000-0000-000000000002": "Multifactor authentication",
				"00000000-0000-0000-0000-000000000003": "Passwordless MFA", "00000000-0000-0000-0000-000000000004": "Phishing-resistant MFA"} {
				g.objects[name][id] = map[string]any{"id": id, "displayName": n, "policyType": "builtIn"}
			}
		}
	}
	return append([]string{name}, rest...)
}

// graphRequestsOf lists the requests whose path contains part.
func graphRequestsOf(h *harness, part string) []string {
	var out []string
	for _, r := range h.idp.graph.requestLog() {
		if strings.Contains(r, part) {
			out = append(out, r)
		}
	}
	return out
}
