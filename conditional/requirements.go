package conditional

import (
	"slices"
	"strings"
)

// What a machine checks again at login. The token service decides Conditional Access when it
// issues a certificate; the machine repeats the part it can check offline, the methods the
// certificate carries, as sets of method combinations. Everything that depends on the client
// (address, named location, platform, risk) is decided at issuance only.

// RequiredStrength is the id of the authentication strength policy p requires: MultifactorID
// for the mfa control, else its authenticationStrength's id, else "".
func RequiredStrength(p *Policy) string { return strengthOf(p) }

// AddressIndependent reports whether p decides the same for every client address: it has no
// location condition, or one that includes All and excludes nothing.
func AddressIndependent(p *Policy) bool {
	l := p.Conditions.Locations
	if l == nil {
		return true
	}
	all := len(l.IncludeLocations) == 0 || slices.ContainsFunc(l.IncludeLocations, func(s string) bool { return strings.EqualFold(s, All) })
	return all && len(l.ExcludeLocations) == 0
}

// maxCombinations caps CombinationsSatisfyingAll; real strengths have a few dozen.
const maxCombinations = 256

// CombinationsSatisfyingAll lists the method combinations (each sorted, authn method names)
// that satisfy every one of strengths at once: a combination of each, joined. Combinations
// naming a method Latch does not know are left out, as are duplicates and combinations that
// contain a smaller one already listed. No strengths: nil, meaning no requirement.
func CombinationsSatisfyingAll(strengths []Strength) [][]string {
	if len(strengths) == 0 {
		return nil
	}
	acc := []methodSet{0}
	for _, st := range strengths {
		var next []methodSet
		for _, c := range st.AllowedCombinations {
			need, ok := combination(c)
			if !ok {
				continue
			}
			for _, have := range acc {
				if len(next) < maxCombinations {
					next = append(next, have|need)
				}
			}
		}
		acc = minimal(next)
	}
	out := make([][]string, 0, len(acc))
	for _, set := range acc {
		out = append(out, set.names())
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(strings.Join(a, ","), strings.Join(b, ",")) })
	return out
}

// minimal drops duplicates and every set that contains another set of the list.
func minimal(sets []methodSet) []methodSet {
	var out []methodSet
	for i, s := range sets {
		keep := true
		for j, t := range sets {
			if t&^s == 0 && (t != s || j < i) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}

// names lists the set's methods, sorted.
func (s methodSet) names() []string {
	var out []string
	for i, m := range modes {
		if s&(1<<i) != 0 {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}
