package access

import (
	"unicode"
	"unicode/utf8"
)

// MatchAction reports whether an action or data action matches a pattern from a role
// definition, as ARM matches them: case-insensitively, with each '*' standing for any run of
// characters, '/' included, so "*/read" matches every read and
// "Microsoft.Compute/virtualMachines/*/read" matches "Microsoft.Compute/virtualMachines/extensions/read".
// Cost is at most proportional to len(pattern)·len(action).
func MatchAction(pattern, action string) bool {
	p, a := 0, 0
	star, resume := -1, 0 // the last '*' seen in pattern, and where in action its run ends
	for a < len(action) {
		if p < len(pattern) && pattern[p] == '*' {
			star, resume = p, a
			p++
			continue
		}
		if p < len(pattern) {
			pr, pn := utf8.DecodeRuneInString(pattern[p:])
			ar, an := utf8.DecodeRuneInString(action[a:])
			if foldEqual(pr, ar) {
				p, a = p+pn, a+an
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry from there. Backtracking only
		// to the last star is enough: an earlier star can never need a longer run.
		_, n := utf8.DecodeRuneInString(action[resume:])
		resume += n
		p, a = star+1, resume
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// foldEqual reports whether a and b are equal under Unicode simple case folding, the same
// equivalence strings.EqualFold and case-insensitive regular expressions use.
func foldEqual(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return lowerASCII(a) == lowerASCII(b)
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if MatchAction(p, action) {
			return true
		}
	}
	return false
}

// Grants reports whether this permission block grants action. Control-plane actions are
// granted by Actions less NotActions, data actions by DataActions less NotDataActions, and
// never the one by the other: a "*" in Actions grants no data action.
func (p Permission) Grants(action string, isDataAction bool) bool {
	if isDataAction {
		return matchAny(p.DataActions, action) && !matchAny(p.NotDataActions, action)
	}
	return matchAny(p.Actions, action) && !matchAny(p.NotActions, action)
}

// Grants reports whether the role grants action. Each permission block is its own
// "allowed less excluded" set and the role grants their union, so a NotActions entry removes
// only what its own block's Actions added.
func (d RoleDefinition) Grants(action string, isDataAction bool) bool {
	for _, p := range d.Permissions {
		if p.Grants(action, isDataAction) {
			return true
		}
	}
	return false
}

// HasDataActions reports whether any permission block lists DataActions or NotDataActions:
// ARM's test for the management-group and api-version rules.
func (d RoleDefinition) HasDataActions() bool {
	for _, p := range d.Permissions {
		if len(p.DataActions) > 0 || len(p.NotDataActions) > 0 {
			return true
		}
	}
	return false
}
