package risk

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/latchsh/latch/errs"
)

// Place is where an address range is: a country (ISO 3166 alpha-2) and a point.
type Place struct {
	Country  string
	Lat, Lon float64
}

// GeoTable maps address ranges to places. Ranges do not overlap, so a lookup is one binary
// search. It satisfies conditional.CountryTable. Immutable after ParseGeoTable; safe for
// concurrent use.
type GeoTable struct {
	ranges []geoRange // sorted by first address
}

type geoRange struct {
	prefix netip.Prefix
	place  Place
}

// MaxGeoLines caps a table: a country-level table of the whole internet is a few hundred
// thousand ranges.
const MaxGeoLines = 2_000_000

// ParseGeoTable reads the admin's table: one range a line, "cidr,country,latitude,longitude"
// (e.g. "192.0.2.0/24,NL,52.37,4.90"); blank lines and lines starting with # are skipped.
//
// Errors: Invalid naming the first bad line (a bad CIDR, country, coordinate, or a range
// overlapping another), or when the table exceeds MaxGeoLines.
func ParseGeoTable(r io.Reader) (*GeoTable, error) {
	const op = "risk.ParseGeoTable"
	sc := bufio.NewScanner(r)
	t := &GeoTable{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if n > MaxGeoLines {
			return nil, errs.Errorf(op, errs.Invalid, "The location table has more than %d lines.", MaxGeoLines)
		}
		g, err := parseGeoLine(line)
		if err != nil {
			return nil, errs.Errorf(op, errs.Invalid, "Line %d of the location table: %v.", n, err)
		}
		t.ranges = append(t.ranges, g)
	}
	if err := sc.Err(); err != nil {
		return nil, errs.E(op, errs.Invalid, "The location table could not be read.", err)
	}
	return t, t.sortAndCheck(op)
}

func parseGeoLine(line string) (geoRange, error) {
	f := strings.Split(line, ",")
	if len(f) != 4 {
		return geoRange{}, fmt.Errorf("want cidr,country,latitude,longitude")
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(f[0]))
	if err != nil || p.Addr().Is4In6() {
		return geoRange{}, fmt.Errorf("%q is not a CIDR range", clip(f[0]))
	}
	cc := strings.ToUpper(strings.TrimSpace(f[1]))
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(f[3]), 64)
	switch {
	case len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z':
		return geoRange{}, fmt.Errorf("%q is not a two-letter country code", clip(f[1]))
	case err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(lon) > 180:
		return geoRange{}, fmt.Errorf("the coordinates must be a latitude within ±90 and a longitude within ±180")
	}
	return geoRange{p.Masked(), Place{cc, lat, lon}}, nil
}

func (t *GeoTable) sortAndCheck(op string) error {
	slices.SortFunc(t.ranges, func(a, b geoRange) int { return a.prefix.Addr().Compare(b.prefix.Addr()) })
	for i := 1; i < len(t.ranges); i++ {
		if prev, cur := t.ranges[i-1].prefix, t.ranges[i].prefix; prev.Overlaps(cur) {
			return errs.Errorf(op, errs.Invalid, "The location table's ranges %s and %s overlap.", prev, cur)
		}
	}
	return nil
}

// Lookup returns the place of addr (IPv4-mapped addresses as IPv4), or ok false.
func (t *GeoTable) Lookup(addr netip.Addr) (Place, bool) {
	if t == nil || !addr.IsValid() {
		return Place{}, false
	}
	addr = addr.Unmap()
	// The last range starting at or before addr is the only one that can hold it.
	i, found := slices.BinarySearchFunc(t.ranges, addr, func(g geoRange, a netip.Addr) int { return g.prefix.Addr().Compare(a) })
	if !found {
		i--
	}
	if i < 0 || !t.ranges[i].prefix.Contains(addr) {
		return Place{}, false
	}
	return t.ranges[i].place, true
}

// Country returns addr's country code; with it a GeoTable serves as a conditional.CountryTable.
func (t *GeoTable) Country(addr netip.Addr) (string, bool) {
	p, ok := t.Lookup(addr)
	return p.Country, ok
}

// distanceKm is the great-circle distance (haversine, mean Earth radius).
func distanceKm(a, b Place) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (b.Lat-a.Lat)*rad, (b.Lon-a.Lon)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
