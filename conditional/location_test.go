package conditional

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
)

func TestParseNamedLocation(t *testing.T) {
	const v4, v6 = `"@odata.type":"#microsoft.graph.iPv4CidrRange"`, `"@odata.type":"#microsoft.graph.iPv6CidrRange"`
	ip := func(ranges string) string {
		return `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","isTrusted":true,"ipRanges":[` + ranges + `]}`
	}
	cases := []struct{ name, json, want string }{
		{"fail/no-type", `{"displayName":"x","ipRanges":[]}`, "@odata.type must be"},
		{"fail/unknown-type", `{"@odata.type":"#microsoft.graph.gpsNamedLocation","displayName":"x"}`, "@odata.type must be"},
		{"fail/family-mismatch", ip(`{` + v6 + `,"cidrAddress":"192.0.2.0/24"}`), "needs @odata.type"},
		{"fail/not-cidr", ip(`{` + v4 + `,"cidrAddress":"192.0.2.1"}`), "not a CIDR"},
		{"fail/too-wide", ip(`{` + v4 + `,"cidrAddress":"0.0.0.0/0"}`), "wider than"},
		{"fail/no-ranges", ip(``), "at least one range"},
		{"fail/unknown-range-field", ip(`{` + v4 + `,"cidrAddress":"192.0.2.0/24","port":22}`), "unknown field"},
		{"fail/country-fields-on-ip", `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"x","countriesAndRegions":["NL"],"ipRanges":[{` + v4 + `,"cidrAddress":"192.0.2.0/24"}]}`, "no country"},
		{"fail/trusted-country", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"x","isTrusted":true,"countriesAndRegions":["NL"]}`, "no ipRanges or isTrusted"},
		{"fail/bad-country", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"x","countriesAndRegions":["Netherlands"]}`, "two-letter"},
		{"fail/gps-lookup", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"x","countriesAndRegions":["NL"],"countryLookupMethod":"authenticatorAppGps"}`, "clientIpAddress"},
		{"fail/no-name", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":" ","countriesAndRegions":["NL"]}`, "displayName"},
		{"ok/ipv4-and-ipv6", ip(`{` + v4 + `,"cidrAddress":"12.34.221.11/22"},{` + v6 + `,"cidrAddress":"2001:0:9d38:90d6:0:0:0:0/63"}`), ""},
		{"ok/country", `{"@odata.type":"#microsoft.graph.countryNamedLocation","id":"10c00000-0000-4000-8000-000000000102","displayName":"x","countriesAndRegions":["nl","US"],"includeUnknownCountriesAndRegions":false,"countryLookupMethod":"clientIpAddress"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := ParseNamedLocation([]byte(c.json))
			if c.want != "" {
				if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(l)
			var l2 NamedLocation
			if err := json.Unmarshal(b, &l2); err != nil {
				t.Fatalf("canonical form does not parse: %v\n%s", err, b)
			}
			if b2, _ := json.Marshal(l2); string(b) != string(b2) {
				t.Fatalf("round trip:\n%s\n%s", b, b2)
			}
		})
	}
}

func TestNamedLocationContains(t *testing.T) {
	l, err := ParseNamedLocation([]byte(`{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"x","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"12.34.221.11/22"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"12.34.220.0": true, "12.34.223.255": true, "::ffff:12.34.221.1": true,
		"12.34.224.0": false, "12.34.219.255": false, "2001:db8::1": false} {
		if got := l.Contains(netip.MustParseAddr(addr), ""); got != want {
			t.Errorf("Contains(%s) = %v", addr, got)
		}
	}
	if l.IPRanges[0].String() != "12.34.220.0/22" {
		t.Errorf("range not masked: %v", l.IPRanges[0])
	}
	country := NamedLocation{Country: true, Countries: []string{"NL"}}
	if !country.Contains(netip.Addr{}, "nl") || country.Contains(netip.Addr{}, "") || country.Contains(netip.Addr{}, "BE") {
		t.Error("country matching")
	}
}
