package risk

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseAddressList: no panic; every range read back contains its own address and is
// masked, so the list means what it says however it was written.
func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{"203.0.113.0/24\n", "# feed\n198.51.100.7 # one host\n", "::ffff:10.0.0.0/104", "2001:db8::/32", "bad", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<12 {
			return
		}
		list, err := ParseAddressList(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, p := range list {
			if !p.IsValid() || p != p.Masked() || !p.Contains(p.Addr()) || p.Addr().Is4In6() {
				t.Fatalf("%q gave the range %v", s, p)
			}
		}
	})
}

// FuzzParseGeoTable: no panic; a table that loads answers lookups for the ranges' own
// addresses with their country.
func FuzzParseGeoTable(f *testing.F) {
	for _, s := range []string{"192.0.2.0/24,NL,52.37,4.90\n", "# c\n2001:db8::/32,us,40,-74", "1.0.0.0/8,NL,91,0", "1.0.0.0/8,NL,1,1\n1.2.0.0/16,FR,1,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<12 {
			return
		}
		g, err := ParseGeoTable(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range g.ranges {
			if p, ok := g.Lookup(r.prefix.Addr()); !ok || p != r.place {
				t.Fatalf("%q: %v looks up as %v, %v", s, r.prefix.Addr(), p, ok)
			}
		}
		g.Lookup(netip.Addr{})
	})
}

func TestParseAddressList(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"fail/not-a-range", "203.0.113.0/24\nnot-an-address\n", nil},
		{"fail/too-many-bits", "203.0.113.0/33\n", nil},
		{"fail/zone", "fe80::1%eth0\n", nil},
		{"ok/comments-and-hosts", "# feed\n\n203.0.113.9/24 # masked\n198.51.100.7\n::ffff:192.0.2.0/120\n", []string{"203.0.113.0/24", "198.51.100.7/32", "192.0.2.0/24"}},
		{"ok/empty", "", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAddressList(strings.NewReader(tc.in))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("accepted: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].String() != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
