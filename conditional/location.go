package conditional

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// The @odata.type values of named locations and IP ranges.
const (
	TypeIPNamedLocation      = "#microsoft.graph.ipNamedLocation"
	TypeCountryNamedLocation = "#microsoft.graph.countryNamedLocation"
	TypeIPv4Range            = "#microsoft.graph.iPv4CidrRange"
	TypeIPv6Range            = "#microsoft.graph.iPv6CidrRange"
)

// Country lookup methods; Latch only knows the client's address.
const LookupClientIP = "clientIpAddress"

// minPrefixBits refuses ranges wider than /8. A trusted 0.0.0.0/1 is far more likely a
// mistake than a network, and it would quietly exempt most of the internet from a policy.
const minPrefixBits = 8

// NamedLocation is an ipNamedLocation or a countryNamedLocation. Its JSON is Graph's, told
// apart by @odata.type: IP locations carry IPRanges and IsTrusted, country locations carry
// Countries, IncludeUnknown and LookupMethod.
type NamedLocation struct {
	ID             string
	DisplayName    string
	Created        time.Time
	Modified       time.Time
	Country        bool           // a countryNamedLocation
	IsTrusted      bool           // IP locations only
	IPRanges       []netip.Prefix // masked, IPv4 ranges in their 4-byte form
	Countries      []string       // ISO 3166 alpha-2, upper case
	IncludeUnknown bool           // match addresses whose country is unknown
	LookupMethod   string         // LookupClientIP
}

// ipRange is iPv4CidrRange / iPv6CidrRange.
type ipRange struct {
	ODataType   string `json:"@odata.type"`
	CIDRAddress string `json:"cidrAddress"`
}

// locationJSON holds both shapes' fields; which ones may appear depends on @odata.type.
type locationJSON struct {
	ODataContext   Ignored    `json:"@odata.context,omitzero"`
	ODataType      string     `json:"@odata.type"`
	ID             string     `json:"id,omitempty"`
	DisplayName    string     `json:"displayName"`
	Created        time.Time  `json:"createdDateTime,omitzero"`
	Modified       time.Time  `json:"modifiedDateTime,omitzero"`
	IsTrusted      *bool      `json:"isTrusted,omitempty"`
	IPRanges       *[]ipRange `json:"ipRanges,omitempty"`
	Countries      *Strings   `json:"countriesAndRegions,omitempty"`
	IncludeUnknown *bool      `json:"includeUnknownCountriesAndRegions,omitempty"`
	LookupMethod   string     `json:"countryLookupMethod,omitempty"`
}

// ParseNamedLocation reads an ipNamedLocation or countryNamedLocation in Graph's JSON,
// strictly (as ParsePolicy does), and validates it: known @odata.type, valid CIDR ranges of
// the declared family no wider than /8, two-letter country codes.
//
// Errors: Invalid, naming every problem.
func ParseNamedLocation(b []byte) (NamedLocation, error) {
	const op = "conditional.ParseNamedLocation"
	var j locationJSON
	if err := decodeStrict(b, &j); err != nil {
		return NamedLocation{}, errs.E(op, errs.Invalid, "The named location is not valid JSON of the namedLocation shape: "+err.Error(), err)
	}
	l, err := j.location()
	if err != nil {
		return NamedLocation{}, err
	}
	return l, nil
}

func (j locationJSON) location() (NamedLocation, error) {
	v := &problems{}
	l := NamedLocation{ID: j.ID, DisplayName: j.DisplayName, Created: j.Created.UTC(), Modified: j.Modified.UTC()}
	if strings.TrimSpace(j.DisplayName) == "" || len(j.DisplayName) > 256 {
		v.add("displayName must be 1 to 256 characters")
	}
	switch j.ODataType {
	case TypeIPNamedLocation:
		j.ipFields(&l, v)
	case TypeCountryNamedLocation:
		j.countryFields(&l, v)
	default:
		v.add("@odata.type must be %s or %s", TypeIPNamedLocation, TypeCountryNamedLocation)
	}
	return l, v.err("conditional.ParseNamedLocation", "The named location is not valid")
}

func (j locationJSON) ipFields(l *NamedLocation, v *problems) {
	if j.Countries != nil || j.IncludeUnknown != nil || j.LookupMethod != "" {
		v.add("an ipNamedLocation has no country fields")
	}
	if j.IPRanges == nil || len(*j.IPRanges) == 0 {
		v.add("ipRanges must list at least one range")
		return
	}
	l.IsTrusted = j.IsTrusted != nil && *j.IsTrusted
	for _, r := range *j.IPRanges {
		if p, ok := r.prefix(v); ok {
			l.IPRanges = append(l.IPRanges, p)
		}
	}
}

// prefix parses one range, checking that its family matches its @odata.type.
func (r ipRange) prefix(v *problems) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(r.CIDRAddress)
	if err != nil {
		v.add("ipRanges: %q is not a CIDR range", clip(r.CIDRAddress))
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	want := TypeIPv6Range
	if p.Addr().Is4() {
		want = TypeIPv4Range
	}
	switch {
	case r.ODataType != want:
		v.add("ipRanges: %q needs @odata.type %s", clip(r.CIDRAddress), want)
	case p.Bits() < minPrefixBits:
		v.add("ipRanges: %q is wider than /%d", clip(r.CIDRAddress), minPrefixBits)
	default:
		return p.Masked(), true
	}
	return netip.Prefix{}, false
}

func (j locationJSON) countryFields(l *NamedLocation, v *problems) {
	if j.IPRanges != nil || j.IsTrusted != nil {
		v.add("a countryNamedLocation has no ipRanges or isTrusted")
	}
	l.Country, l.LookupMethod = true, LookupClientIP
	if j.LookupMethod != "" && j.LookupMethod != LookupClientIP {
		v.add("countryLookupMethod: only %s is supported", LookupClientIP)
	}
	l.IncludeUnknown = j.IncludeUnknown != nil && *j.IncludeUnknown
	if j.Countries == nil || len(*j.Countries) == 0 && !l.IncludeUnknown {
		v.add("countriesAndRegions must list at least one country")
		return
	}
	for _, c := range *j.Countries {
		if len(c) != 2 || !isAlpha(c) {
			v.add("countriesAndRegions: %q is not a two-letter country code", clip(c))
			continue
		}
		l.Countries = append(l.Countries, strings.ToUpper(c))
	}
}

func isAlpha(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// MarshalJSON writes Graph's shape for the location's kind.
func (l NamedLocation) MarshalJSON() ([]byte, error) {
	j := locationJSON{ID: l.ID, DisplayName: l.DisplayName, Created: l.Created, Modified: l.Modified}
	if l.Country {
		countries := Strings(slices.Clone(l.Countries))
		j.ODataType, j.Countries, j.IncludeUnknown, j.LookupMethod = TypeCountryNamedLocation, &countries, &l.IncludeUnknown, l.LookupMethod
		if j.LookupMethod == "" {
			j.LookupMethod = LookupClientIP
		}
		return json.Marshal(j)
	}
	ranges := make([]ipRange, len(l.IPRanges))
	for i, p := range l.IPRanges {
		ranges[i] = ipRange{ODataType: TypeIPv6Range, CIDRAddress: p.String()}
		if p.Addr().Is4() {
			ranges[i].ODataType = TypeIPv4Range
		}
	}
	j.ODataType, j.IPRanges, j.IsTrusted = TypeIPNamedLocation, &ranges, &l.IsTrusted
	return json.Marshal(j)
}

// UnmarshalJSON is ParseNamedLocation, so a location nested in other JSON is just as strict.
func (l *NamedLocation) UnmarshalJSON(b []byte) error {
	parsed, err := ParseNamedLocation(b)
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}

// Contains reports whether addr (a sign-in's client address) falls in an IP location, or
// whether country (the address's ISO code from a CountryTable, "" when unknown) is one of a
// country location's. IPv4-mapped IPv6 addresses count as IPv4.
func (l NamedLocation) Contains(addr netip.Addr, country string) bool {
	if l.Country {
		if country == "" {
			return l.IncludeUnknown
		}
		return slices.Contains(l.Countries, strings.ToUpper(country))
	}
	addr = addr.Unmap()
	for _, p := range l.IPRanges {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// CountryTable maps an address to the ISO 3166 alpha-2 code of its country. Admins load the
// table (risk.GeoTable is one); the caller resolves SignIn.Country with it before Evaluate, so
// evaluation itself never looks anything up.
type CountryTable interface {
	// Country returns the code, or ok false when the table has no range for addr.
	Country(addr netip.Addr) (code string, ok bool)
}
