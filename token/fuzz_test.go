package token

import (
	"strings"
	"testing"
)

// FuzzVerify feeds Verify arbitrary strings next to real and hostile tokens. Verify must not
// panic, and whatever it accepts must be a token of tenant A of the kind asked for.
func FuzzVerify(f *testing.F) {
	fuzzH := newHostile(f)
	for _, tc := range append(hostileCases(), okCases()...) {
		if tok := tc.tok(fuzzH); len(tok) < 4096 {
			f.Add(tok)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, opt := range []VerifyOptions{accessOpts(), {Kind: KindID, Audiences: []string{clientA}, Issuers: []string{issuerA}}} {
			c, err := fuzzH.svc.Verify(fuzzH.ctx, raw, opt)
			if err != nil {
				continue
			}
			if c.Kind != opt.Kind || (c.TenantID != tenantA && c.TenantID != tenantR) || len(raw) > MaxTokenSize || strings.Count(raw, ".") != 2 {
				t.Fatalf("accepted %q as %+v", raw, c)
			}
		}
	})
}

// FuzzParseScope checks that ParseScope never panics, and that what it returns, written back
// in canonical form, parses to the same result.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"", "openid", "https://management.core.windows.net//.default offline_access openid profile",
		"User.Read", "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70", "api://x/y api://X/z", "a/.default b/.default", "/.default", "https://x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, scope string) {
		r, oidc, err := ParseScope(scope)
		_ = NormalizeAudience(scope)
		if !strings.HasSuffix(scope, "/") && NormalizeAudience(scope) != NormalizeAudience(scope+"/") {
			t.Fatalf("one trailing slash changes %q", scope)
		}
		if err != nil || len(scope) > maxScope-len(defaultSuffix)-1 {
			return
		}
		canon := strings.Join(oidc, " ")
		if r != "" {
			canon += " " + r + defaultSuffix
		}
		r2, oidc2, err := ParseScope(canon)
		if err != nil || r2 != r || strings.Join(oidc2, " ") != strings.Join(oidc, " ") {
			t.Fatalf("%q → %q %q → %q → %q %q %v", scope, r, oidc, canon, r2, oidc2, err)
		}
	})
}
