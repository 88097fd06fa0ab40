package risk

import (
	"bufio"
	"io"
	"net/netip"
	"strings"

	"github.com/latchsh/latch/errs"
)

// MaxBadAddressLines caps the known-bad list: threat feeds run to tens of thousands of ranges,
// and a list far past that is more likely a wrong file than a feed.
const MaxBadAddressLines = 1_000_000

// ParseAddressList reads the admin's known-bad list: one CIDR range or single address a line;
// blank lines and lines starting with # are skipped, and so is anything after a # on a line,
// so feeds with trailing comments load as they are.
//
// Errors: Invalid naming the first line that is not a range, or when the list exceeds
// MaxBadAddressLines.
func ParseAddressList(r io.Reader) ([]netip.Prefix, error) {
	const op = "risk.ParseAddressList"
	sc := bufio.NewScanner(r)
	var out []netip.Prefix
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if n > MaxBadAddressLines {
			return nil, errs.Errorf(op, errs.Invalid, "The known-bad address list has more than %d lines.", MaxBadAddressLines)
		}
		p, err := parseRange(line)
		if err != nil {
			return nil, errs.Errorf(op, errs.Invalid, "Line %d of the known-bad address list: %q is not a CIDR range such as 203.0.113.0/24.", n, clip(line))
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, errs.E(op, errs.Invalid, "The known-bad address list could not be read.", err)
	}
	return out, nil
}

// parseRange accepts a CIDR or a bare address (as its own /32 or /128). IPv4-mapped IPv6
// forms are unmapped, because sign-in addresses are compared unmapped.
func parseRange(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, errs.E("risk.parseRange", errs.Invalid)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, errs.E("risk.parseRange", errs.Invalid)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
