package conditional

import (
	"encoding/json"
	"net/netip"
	"testing"
)

// FuzzPolicyJSON: ParsePolicy never panics, refuses oversized input, and whatever it accepts
// marshals to a canonical form that parses back to the same bytes and can be evaluated.
func FuzzPolicyJSON(f *testing.F) {
	f.Add([]byte(referencePolicy))
	f.Add([]byte(graphGET))
	f.Add([]byte(`{"displayName":"x","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 2*MaxJSONBytes {
			return
		}
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		canon, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		q, err := ParsePolicy(canon)
		if err != nil {
			t.Fatalf("canonical form refused: %v\n%s", err, canon)
		}
		if again, _ := json.Marshal(q); string(again) != string(canon) {
			t.Fatalf("round trip changed:\n%s\n%s", canon, again)
		}
		Evaluate([]Policy{p}, signIn(), DirectoryFacts{PerUserMFA: "Enabled"}, testLocations, testStrengths)
	})
}

// FuzzNamedLocationJSON: the same for named locations, and Contains never panics.
func FuzzNamedLocationJSON(f *testing.F) {
	f.Add([]byte(`{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","isTrusted":true,"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"12.34.221.11/22"},{"@odata.type":"#microsoft.graph.iPv6CidrRange","cidrAddress":"2001:0:9d38:90d6:0:0:0:0/63"}]}`))
	f.Add([]byte(`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"x","countriesAndRegions":["NL","US"],"includeUnknownCountriesAndRegions":true,"countryLookupMethod":"clientIpAddress"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 2*MaxJSONBytes {
			return
		}
		l, err := ParseNamedLocation(b)
		if err != nil {
			return
		}
		canon, err := json.Marshal(l)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		m, err := ParseNamedLocation(canon)
		if err != nil {
			t.Fatalf("canonical form refused: %v\n%s", err, canon)
		}
		if again, _ := json.Marshal(m); string(again) != string(canon) {
			t.Fatalf("round trip changed:\n%s\n%s", canon, again)
		}
		l.Contains(netip.MustParseAddr("::ffff:12.34.221.1"), "nl")
	})
}
