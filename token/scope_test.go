package token

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
)

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		name, scope, resource string
		oidc                  []string
	}{
		{name: "fail/two-resources", scope: "https://management.azure.com/.default https://vault.azure.net/.default"},
		{name: "fail/graph-permission-and-arm", scope: "User.Read https://management.azure.com/.default"},
		{name: "fail/two-app-ids", scope: "11111111-2222-4333-8444-555555555555/.default 8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"},
		{name: "fail/bare-default", scope: "/.default"},
		{name: "fail/uri-without-permission", scope: "https://management.azure.com/"},
		{name: "fail/scheme-only", scope: "https://management.azure.com"},
		{name: "fail/control-character", scope: "openid\tprofile"},
		{name: "fail/quote", scope: `openid "x"`},
		{name: "fail/non-ascii", scope: "openid pr\u00f6file"},
		{name: "fail/too-long", scope: strings.Repeat("a", maxScope+1)},
		{name: "fail/backslash", scope: `https://host\\x/.default`},
		{name: "fail/del-character", scope: "openid\x7f"},
		{name: "fail/nul-character", scope: "openid\x00"},
		{name: "fail/arm-then-vault-permission", scope: "https://management.azure.com/.default https://vault.azure.net/user_impersonation"},
		{name: "fail/guid-and-uri", scope: "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70 api://other/.default"},
		{name: "fail/permission-with-empty-resource", scope: "/User.Read"},
		{name: "fail/guid-with-trailing-slash", scope: "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70/"},
		{name: "fail/same-host-different-path", scope: "https://host/a/.default https://host/b/.default"},
		{name: "fail/line-break", scope: "openid\nprofile"},
		{name: "ok/arm-default", scope: "https://management.azure.com/.default", resource: "https://management.azure.com"},
		{name: "ok/az-double-slash", scope: "https://management.core.windows.net//.default offline_access openid profile",
			resource: "https://management.core.windows.net/", oidc: []string{"offline_access", "openid", "profile"}},
		{name: "ok/guid-default", scope: "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70/.default", resource: "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"},
		{name: "ok/bare-guid", scope: "8D7E1A3C-5B2F-4C9D-9E1A-2B3C4D5E6F70", resource: "8D7E1A3C-5B2F-4C9D-9E1A-2B3C4D5E6F70"},
		{name: "ok/uri-permission", scope: "api://latch/access_as_user openid", resource: "api://latch", oidc: []string{"openid"}},
		{name: "ok/same-resource-two-spellings", scope: "https://management.azure.com/.default https://Management.Azure.com/user_impersonation", resource: "https://management.azure.com"},
		{name: "ok/graph-permissions", scope: "User.Read Mail.Read openid", resource: "", oidc: []string{"openid"}},
		{name: "ok/oidc-only-dedup-and-case", scope: "  openid OpenID  email ", oidc: []string{"openid", "email"}},
		{name: "ok/empty", scope: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, oidc, err := ParseScope(tc.scope)
			if strings.HasPrefix(tc.name, "fail/") {
				if err == nil {
					t.Fatalf("accepted: %q %v", r, oidc)
				}
				if !errs.Is(err, errs.Invalid) || errs.CodeOf(err) != "invalid_scope" {
					t.Fatalf("want Invalid invalid_scope, got %v (%q)", err, errs.CodeOf(err))
				}
				return
			}
			if err != nil || r != tc.resource || !slices.Equal(oidc, tc.oidc) {
				t.Fatalf("got %q %q %v, want %q %q", r, oidc, err, tc.resource, tc.oidc)
			}
		})
	}
}

func TestNormalizeAudience(t *testing.T) {
	for in, want := range map[string]string{
		"https://Management.Azure.com/":        "https://management.azure.com",
		"HTTPS://management.azure.com":         "https://management.azure.com",
		"https://management.core.windows.net/": "https://management.core.windows.net",
		"https://host/Path/":                   "https://host/Path",
		"https://host//":                       "https://host/",
		"https://HOST:8443?x=Y":                "https://host:8443?x=Y",
		"8D7E1A3C-5B2F-4C9D-9E1A-2B3C4D5E6F70": "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70",
		"api://Latch/":                         "api://latch",
		"NotAURI/":                             "NotAURI",
		"":                                     "",
	} {
		if got := NormalizeAudience(in); got != want {
			t.Errorf("NormalizeAudience(%q) = %q, want %q", in, got, want)
		}
	}
}
