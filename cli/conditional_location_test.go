package cli

import (
	"strings"
	"testing"
)

func TestNamedLocationRefusals(t *testing.T) {
	h := newHarness(t)
	h.login()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/no-kind", []string{"create", "--name", "x"}, 2, "Give --ip-ranges for an IP location or --countries"},
		{"fail/both-kinds", []string{"create", "--name", "x", "--ip-ranges", "203.0.113.0/24", "--countries", "NL"}, 2, "give one kind"},
		{"fail/bad-cidr", []string{"create", "--name", "x", "--ip-ranges", "203.0.113.0/33"}, 2, "'203.0.113.0/33' is not a CIDR range"},
		{"fail/bad-country", []string{"create", "--name", "x", "--countries", "Netherlands"}, 2, "'Netherlands' is not a two-letter country code"},
		{"fail/no-name", []string{"create", "--countries", "NL"}, 2, `"name" not set`},
		{"fail/show-missing", []string{"show", "--id", "Nowhere"}, 3, "Named location 'Nowhere' is not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(graphRequestsOf(h, "namedLocations"))
			res := h.run(append([]string{"conditional-access", "named-location"}, tc.args...)...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, tc.code, tc.want)
			}
			if tc.code == 2 && len(graphRequestsOf(h, "namedLocations")) != before {
				t.Fatal("a refused command still sent a request")
			}
		})
	}
}

func TestNamedLocationCommands(t *testing.T) {
	h := newHarness(t)
	h.login()
	ip := decode(t, mustRun(t, h, "conditional-access", "named-location", "create", "--name", "Office",
		"--ip-ranges", "203.0.113.0/24,2001:db8::/48", "--trusted")).(map[string]any)
	const path = "/v1.0/identity/conditionalAccess/namedLocations"
	want := `POST ` + path + `? {"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","ipRanges":[` +
		`{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"},` +
		`{"@odata.type":"#microsoft.graph.iPv6CidrRange","cidrAddress":"2001:db8::/48"}],"isTrusted":true}`
	if got := lastGraphRequest(h); got != want {
		t.Fatalf("create sent\n%s\nwant\n%s", got, want)
	}
	mustRun(t, h, "conditional-access", "named-location", "create", "--name", "Benelux", "--countries", "nl,be", "--include-unknown")
	want = `POST ` + path + `? {"@odata.type":"#microsoft.graph.countryNamedLocation","countriesAndRegions":["NL","BE"],"displayName":"Benelux","includeUnknownCountriesAndRegions":true}`
	if got := lastGraphRequest(h); got != want {
		t.Fatalf("create sent\n%s\nwant\n%s", got, want)
	}
	if got := mustRun(t, h, "conditional-access", "named-location", "list", "--query", "length(@)"); got != "2\n" {
		t.Fatalf("list: %q", got)
	}
	shown := decode(t, mustRun(t, h, "conditional-access", "named-location", "show", "--id", "Office")).(map[string]any)
	if shown["id"] != ip["id"] {
		t.Fatalf("show by name gave %v", shown)
	}
	updated := decode(t, mustRun(t, h, "conditional-access", "named-location", "update", "--id", ip["id"].(string), "--trusted=false")).(map[string]any)
	if updated["isTrusted"] != false {
		t.Fatalf("update gave %v", updated)
	}
	if got := graphRequestsOf(h, "PATCH"); len(got) != 1 || !strings.HasSuffix(got[0], `{"@odata.type":"#microsoft.graph.ipNamedLocation","isTrusted":false}`) {
		t.Fatalf("update sent %v", got)
	}
	res := h.run("conditional-access", "named-location", "update", "--id", "Office", "--countries", "NL")
	if res.code != 2 || !strings.Contains(res.stderr, "its kind cannot change") {
		t.Fatalf("changing the kind: exit %d %q", res.code, res.stderr)
	}
	mustRun(t, h, "conditional-access", "named-location", "delete", "--id", "Benelux")
	if got := mustRun(t, h, "conditional-access", "named-location", "list", "--query", "[].displayName", "-o", "tsv"); got != "Office\n" {
		t.Fatalf("after delete: %q", got)
	}
}

// FuzzLocationFlags: the --ip-ranges and --countries parsers never panic, and what they
// accept is what Graph's ipRange and country code shapes allow.
func FuzzLocationFlags(f *testing.F) {
	for _, s := range []string{"203.0.113.0/24", "2001:db8::/48", "::ffff:1.2.3.0/120", "1.2.3.4", "NL", "nl", "N1", "ÑL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ranges, err := cidrRanges([]string{s}); err == nil {
			r := ranges[0].(map[string]any)
			if r["cidrAddress"] == "" || (r["@odata.type"] != ipv4RangeType && r["@odata.type"] != ipv6RangeType) {
				t.Fatalf("%q gave %v", s, r)
			}
		}
		if codes, err := countryCodes([]string{s}); err == nil {
			c := codes[0]
			if len(c) != 2 || c != strings.ToUpper(c) {
				t.Fatalf("%q gave %q", s, c)
			}
		}
	})
}
