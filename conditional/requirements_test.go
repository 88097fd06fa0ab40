package conditional

import (
	"reflect"
	"testing"
)

func TestCombinationsSatisfyingAll(t *testing.T) {
	builtIn := func(id string) Strength { s, _ := BuiltInStrength(id); return s }
	custom := func(combos ...string) Strength { return Strength{ID: "c", AllowedCombinations: combos} }
	cases := []struct {
		name      string
		strengths []Strength
		want      [][]string
	}{
		{"fail/none-is-no-requirement", nil, nil},
		{"fail/unknown-methods-only", []Strength{custom("carrierPigeon")}, [][]string{}},
		{"ok/phishing-resistant", []Strength{builtIn(PhishingResistID)},
			[][]string{{"fido2"}, {"windowsHelloForBusiness"}, {"x509CertificateMultiFactor"}}},
		{"ok/both-need-the-join", []Strength{custom("fido2", "password,softwareOath"), custom("password", "deviceBoundSoftwareKey")},
			[][]string{{"deviceBoundSoftwareKey", "fido2"}, {"fido2", "password"}, {"password", "softwareOath"}}},
		{"ok/contained-combination-dropped", []Strength{builtIn(PhishingResistID), builtIn(MultifactorID)},
			[][]string{{"fido2"}, {"windowsHelloForBusiness"}, {"x509CertificateMultiFactor"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CombinationsSatisfyingAll(tc.strengths); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAddressIndependent(t *testing.T) {
	cases := []struct {
		name string
		loc  *Locations
		want bool
	}{
		{"fail/named-location", &Locations{IncludeLocations: Strings{"6a1c2f3e-0000-4000-8000-000000000001"}}, false},
		{"fail/all-but-trusted", &Locations{IncludeLocations: Strings{All}, ExcludeLocations: Strings{"AllTrusted"}}, false},
		{"ok/no-condition", nil, true},
		{"ok/all", &Locations{IncludeLocations: Strings{All}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Policy{}
			p.Conditions.Locations = tc.loc
			if got := AddressIndependent(p); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}
