package access

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchsh/latch/errs"
)

// ScopeKind is the level of ARM's hierarchy a scope names.
type ScopeKind uint8

// The kinds, from the top. The zero ScopeKind belongs to the zero Scope, which names nothing.
const (
	Root ScopeKind = iota + 1
	ManagementGroup
	Subscription
	ResourceGroup
	Resource
)

var scopeKindNames = [...]string{"none", "root", "management group", "subscription", "resource group", "resource"}

// String names the kind in words, for messages.
func (k ScopeKind) String() string {
	if int(k) < len(scopeKindNames) {
		return scopeKindNames[k]
	}
	return "unknown"
}

// Limits on scope strings. ARM's own limits vary by resource type; these are generous enough
// for every type Latch serves and small enough that a hostile scope costs little to reject.
const (
	MaxScopeLength   = 2048
	maxSegmentLength = 256
)

// The fixed words of ARM scopes, in the spelling String produces.
const (
	segSubscriptions    = "subscriptions"
	segResourceGroups   = "resourceGroups"
	segProviders        = "providers"
	segManagement       = "Microsoft.Management"
	segManagementGroups = "managementGroups"
	mgPrefix            = "/" + segProviders + "/" + segManagement + "/" + segManagementGroups + "/"
)

// Scope is a parsed, canonical ARM scope. The zero Scope names nothing: it contains nothing
// and every decision about it denies. Scopes are comparable with ==, but two spellings of one
// scope (ARM ids are case-insensitive) are only Equal, not ==.
type Scope struct {
	kind ScopeKind
	path string // canonical: fixed words in ARM's spelling, subscription id in lower case
}

// RootScope is "/", above every management group and subscription.
var RootScope = Scope{kind: Root, path: "/"}

// ParseScope parses one of ARM's scope forms:
//
//	/
//	/providers/Microsoft.Management/managementGroups/{mg}
//	/subscriptions/{subscriptionId}
//	/subscriptions/{subscriptionId}/resourceGroups/{rg}
//	/subscriptions/{subscriptionId}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{childType}/{childName}]…
//
// Fixed words match in any case (az sends "resourcegroups"); the subscription id must be a
// GUID. Anything else, including empty or "." and ".." segments, a trailing slash, control or
// URL-special characters, or more than MaxScopeLength bytes, fails with kind errs.Invalid and
// code "InvalidScope".
func ParseScope(s string) (Scope, error) {
	const op = "access.ParseScope"
	if len(s) > MaxScopeLength {
		return Scope{}, errs.E(op, errs.Invalid, codeInvalidScope, "The scope is longer than 2048 characters.")
	}
	if s == "/" {
		return RootScope, nil
	}
	if !strings.HasPrefix(s, "/") {
		return Scope{}, scopeError(op, s, "it must start with '/'")
	}
	segs := strings.Split(s[1:], "/")
	for _, seg := range segs {
		if why := checkSegment(seg); why != "" {
			return Scope{}, scopeError(op, s, why)
		}
	}
	var sc Scope
	var why string
	switch {
	case equalFoldASCII(segs[0], segSubscriptions):
		sc, why = parseUnderSubscription(segs)
	case equalFoldASCII(segs[0], segProviders):
		sc, why = parseManagementGroup(segs)
	default:
		why = "it must be '/', a management group, a subscription, a resource group or a resource"
	}
	if why != "" {
		return Scope{}, scopeError(op, s, why)
	}
	return sc, nil
}

const codeInvalidScope = errs.Code("InvalidScope")

func scopeError(op, s, why string) error {
	return errs.E(op, errs.Invalid, codeInvalidScope, fmt.Sprintf("The scope %q is not valid: %s.", s, why))
}

// checkSegment returns why seg cannot be part of a scope, or "".
func checkSegment(seg string) string {
	switch {
	case seg == "":
		return "it has an empty segment"
	case seg == "." || seg == "..":
		return "it has a '.' or '..' segment"
	case len(seg) > maxSegmentLength:
		return "a segment is longer than 256 characters"
	case !utf8.ValidString(seg):
		return "it is not valid UTF-8"
	}
	for _, r := range seg {
		if !nameRune(r) {
			return "it contains a character ARM does not allow in names"
		}
	}
	return ""
}

// forbiddenASCII marks the ASCII characters names may not contain: controls, space, and the
// characters that mean something in URLs, paths or patterns.
var forbiddenASCII = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c <= ' ' || c == 0x7f || strings.IndexByte(`\?#%*<>&:"|`, byte(c)) >= 0
	}
	return t
}()

func nameRune(r rune) bool {
	if r < utf8.RuneSelf {
		return !forbiddenASCII[r]
	}
	return unicode.IsPrint(r) && !unicode.IsSpace(r)
}

func parseManagementGroup(segs []string) (Scope, string) {
	if len(segs) != 4 || !equalFoldASCII(segs[1], segManagement) || !equalFoldASCII(segs[2], segManagementGroups) {
		return Scope{}, "the only scope under /providers is /providers/Microsoft.Management/managementGroups/{name}"
	}
	return Scope{kind: ManagementGroup, path: mgPrefix + segs[3]}, ""
}

func parseUnderSubscription(segs []string) (Scope, string) {
	if len(segs) < 2 || !isGUID(segs[1]) {
		return Scope{}, "the subscription id must be a GUID"
	}
	path := "/" + segSubscriptions + "/" + strings.ToLower(segs[1])
	switch {
	case len(segs) == 2:
		return Scope{kind: Subscription, path: path}, ""
	case !equalFoldASCII(segs[2], segResourceGroups):
		return Scope{}, "only resourceGroups may follow a subscription"
	case len(segs) == 3:
		return Scope{}, "the resource group name is missing"
	}
	path += "/" + segResourceGroups + "/" + segs[3]
	if len(segs) == 4 {
		return Scope{kind: ResourceGroup, path: path}, ""
	}
	return parseResource(path, segs[4:])
}

// parseResource parses what follows a resource group: providers/{ns}/{type}/{name}[/{type}/{name}]….
func parseResource(rgPath string, segs []string) (Scope, string) {
	if !equalFoldASCII(segs[0], segProviders) {
		return Scope{}, "only providers may follow a resource group"
	}
	if len(segs) < 4 || len(segs)%2 != 0 {
		return Scope{}, "a resource is providers/{namespace}/{type}/{name}, with child types and names in pairs"
	}
	if !isNamespace(segs[1]) {
		return Scope{}, "the resource provider namespace must look like Microsoft.Compute"
	}
	for i := 2; i < len(segs); i += 2 {
		if !isTypeName(segs[i]) {
			return Scope{}, "a resource type must be letters and digits, like virtualMachines"
		}
	}
	return Scope{kind: Resource, path: rgPath + "/" + segProviders + "/" + strings.Join(segs[1:], "/")}, ""
}

// isNamespace accepts Company.Service[.More]: letters and digits, dot-separated, at least two parts.
func isNamespace(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if !isTypeName(p) {
			return false
		}
	}
	return true
}

// isTypeName accepts a letter followed by letters, digits, '-' and '_'.
func isTypeName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '-' || c == '_')) {
			return false
		}
	}
	return s != ""
}

// MustParseScope is ParseScope for constants in tests and wiring; it panics on a bad scope.
func MustParseScope(s string) Scope {
	sc, err := ParseScope(s)
	if err != nil {
		panic(err)
	}
	return sc
}

// String is the canonical spelling: ARM's casing of the fixed words, the subscription id in
// lower case, names as given. ParseScope(s.String()) gives s back. The zero Scope is "".
func (s Scope) String() string { return s.path }

// Kind is the level s names; the zero Scope's kind is 0.
func (s Scope) Kind() ScopeKind { return s.kind }

// IsZero reports whether s is the zero Scope.
func (s Scope) IsZero() bool { return s.kind == 0 }

// segments splits the canonical path; the root has none.
func (s Scope) segments() []string {
	if s.kind == Root || s.kind == 0 {
		return nil
	}
	return strings.Split(s.path[1:], "/")
}

// SubscriptionID is the subscription s is in or names, or "" for the root and management groups.
func (s Scope) SubscriptionID() string {
	if s.kind < Subscription {
		return ""
	}
	return s.segments()[1]
}

// ResourceGroupName is the resource group s is in or names, or "".
func (s Scope) ResourceGroupName() string {
	if s.kind < ResourceGroup {
		return ""
	}
	return s.segments()[3]
}

// ManagementGroupName is the name of the management group s names, or "".
func (s Scope) ManagementGroupName() string {
	if s.kind != ManagementGroup {
		return ""
	}
	return s.path[len(mgPrefix):]
}

// Parent is the scope directly above s in the scope string: a child resource's parent resource,
// a resource's resource group, a resource group's subscription, and the root for a subscription
// or management group. A subscription's real parent is a management group, which only the
// caller's hierarchy knows. The root and the zero Scope have no parent.
func (s Scope) Parent() (Scope, bool) {
	segs := s.segments()
	switch s.kind {
	case Subscription, ManagementGroup:
		return RootScope, true
	case ResourceGroup:
		return Scope{kind: Subscription, path: "/" + strings.Join(segs[:2], "/")}, true
	case Resource:
		if len(segs) == 8 { // subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}
			return Scope{kind: ResourceGroup, path: "/" + strings.Join(segs[:4], "/")}, true
		}
		return Scope{kind: Resource, path: "/" + strings.Join(segs[:len(segs)-2], "/")}, true
	}
	return Scope{}, false
}

// Equal reports whether s and o name the same scope, comparing every segment case-insensitively
// as ARM does. Only ASCII letters fold: a non-ASCII look-alike ("ſ" for "s") names a different
// scope, so folding can never widen an assignment to a resource the resource layer keeps apart. Two zero Scopes are not Equal: the zero Scope names nothing.
func (s Scope) Equal(o Scope) bool {
	return s.kind != 0 && s.kind == o.kind && equalSegments(s.segments(), o.segments())
}

// Contains reports whether o is s or below s in the scope string: the root contains every
// scope; a subscription contains its resource groups and their resources; a resource contains
// its child resources. Management-group ancestry is not in scope strings, so a management
// group contains only itself here; AppliesTo adds the hierarchy.
func (s Scope) Contains(o Scope) bool {
	if s.kind == 0 || o.kind == 0 {
		return false
	}
	if s.kind == Root {
		return true
	}
	ss, os := s.segments(), o.segments()
	if len(os) < len(ss) || s.kind == ManagementGroup && o.kind != ManagementGroup {
		return false
	}
	return equalSegments(ss, os[:len(ss)])
}

// AppliesTo reports whether an assignment at s reaches target, given ancestors: the management
// groups above target's subscription (or above target, when it is a management group), nearest
// first. Access flows down only: an assignment applies at its own scope and below, never to a
// parent or a sibling. Ancestors that are not management groups are ignored, so a wrong
// hierarchy can only withhold access, never grant it.
func (s Scope) AppliesTo(target Scope, ancestors []Scope) bool {
	if s.Contains(target) {
		return true
	}
	if s.kind != ManagementGroup || target.kind == Root {
		return false
	}
	for _, a := range ancestors {
		if a.kind == ManagementGroup && s.Equal(a) {
			return true
		}
	}
	return false
}

func equalSegments(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalFoldASCII(a[i], b[i]) {
			return false
		}
	}
	return true
}
