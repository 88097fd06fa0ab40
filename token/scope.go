package token

import (
	"strings"

	"github.com/latchsh/latch/errs"
)

// OIDC scopes, which name no resource.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// maxScope caps the scope parameter; real clients send well under 1 KiB.
const maxScope = 4 << 10

const defaultSuffix = "/.default"

// ParseScope splits a space-separated scope into its OIDC scopes (openid, profile,
// offline_access, email; lower-cased, deduplicated, in order) and the one resource the other
// scopes name:
//
//   - "X/.default" names X; "X//.default" names "X/" (az asks for "https://HOST/arm//.default");
//   - "https://host/path/perm" and "GUID/perm" name what precedes the last slash;
//   - a bare GUID names that application;
//   - a bare permission such as "User.Read" names Graph, reported as resource "" for the
//     caller to default, as is a scope with OIDC scopes only or no scopes at all.
//
// Resources are compared through NormalizeAudience; the first spelling seen is returned.
// Errors: Invalid with code invalid_scope when the scope is too long, holds characters
// RFC 6749 §3.3 forbids, or names two different resources.
func ParseScope(scope string) (resource string, oidc []string, err error) {
	const op = "token.ParseScope"
	if len(scope) > maxScope {
		return "", nil, errs.E(op, errs.Invalid, "The scope is too long.", errs.Code("invalid_scope"))
	}
	seen := false // whether any resource, Graph included, was named
	for _, s := range strings.Split(scope, " ") {
		if s == "" {
			continue
		}
		if !validScopeToken(s) {
			return "", nil, errs.E(op, errs.Invalid, "The scope contains characters that are not allowed.", errs.Code("invalid_scope"))
		}
		if l := strings.ToLower(s); oidcScopes[l] {
			oidc = appendUnique(oidc, l)
			continue
		}
		r, ok := scopeResource(s)
		if !ok {
			return "", nil, errs.E(op, errs.Invalid, "The scope '"+s+"' does not name a resource.", errs.Code("invalid_scope"))
		}
		if seen && NormalizeAudience(r) != NormalizeAudience(resource) {
			return "", nil, errs.E(op, errs.Invalid, errs.Code("invalid_scope"),
				"AADSTS70011: The provided request must include a 'scope' input parameter for a single resource: the scope names both '"+display(resource)+"' and '"+display(r)+"'.")
		}
		if !seen {
			resource, seen = r, true
		}
	}
	return resource, oidc, nil
}

// scopeResource reports the resource one non-OIDC scope names; "" is Graph.
func scopeResource(s string) (string, bool) {
	if r, ok := strings.CutSuffix(s, defaultSuffix); ok {
		return r, r != ""
	}
	if isGUID(s) {
		return s, true
	}
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return "", true // a Graph permission such as User.Read
	}
	r := s[:i]
	if r == "" || i == len(s)-1 || strings.HasSuffix(r, ":/") {
		return "", false // "/x", "x/", "https://x/" without a permission
	}
	return r, true
}

func display(r string) string {
	if r == "" {
		return "Microsoft Graph"
	}
	return r
}

// validScopeToken applies RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// NormalizeAudience returns the form in which audiences and resources are compared: the
// scheme and host of a URI lower-cased, a GUID lower-cased, and one trailing slash trimmed, so
// "https://Management.Azure.com/" and "https://management.azure.com" are the same resource
// (clients disagree on the slash) while paths keep their case.
func NormalizeAudience(a string) string {
	if g := strings.TrimSuffix(a, "/"); isGUID(g) {
		return strings.ToLower(g)
	}
	if scheme, rest, ok := strings.Cut(a, "://"); ok && scheme != "" {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		a = strings.ToLower(scheme) + "://" + strings.ToLower(rest[:end]) + rest[end:]
	}
	return strings.TrimSuffix(a, "/")
}
