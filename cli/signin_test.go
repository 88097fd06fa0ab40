package cli

import "testing"

func TestSignInFilterQuery(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     signInFilter
		filter string
		top    string
		fail   bool
	}{
		{name: "fail/status", in: signInFilter{status: "maybe"}, fail: true},
		{name: "fail/start-time", in: signInFilter{start: "2026-03-01"}, fail: true},
		{name: "fail/top", in: signInFilter{top: 1001}, fail: true},
		{name: "fail/end-time", in: signInFilter{end: "yesterday"}, fail: true},
		{name: "fail/end-before-start", in: signInFilter{start: "2026-03-02T00:00:00Z", end: "2026-03-01T00:00:00Z"}, fail: true},
		{name: "ok/none", in: signInFilter{}},
		{name: "ok/window", in: signInFilter{start: "2026-03-01T00:00:00Z", end: "2026-03-01T23:00:00-01:00", app: "a"},
			filter: "appId eq 'a' and createdDateTime ge 2026-03-01T00:00:00Z and createdDateTime le 2026-03-02T00:00:00Z"},
		{name: "ok/upn-quoted", in: signInFilter{user: "o'neil@contoso.test"}, filter: "userPrincipalName eq 'o''neil@contoso.test'"},
		{name: "ok/id-app-failure", in: signInFilter{user: "0b1c8a56-3c7e-4d1a-9f3e-2a4b5c6d7e8f", app: "app", status: "Failure", top: 5},
			filter: "userId eq '0b1c8a56-3c7e-4d1a-9f3e-2a4b5c6d7e8f' and appId eq 'app' and status/errorCode ne 0", top: "5"},
		{name: "ok/start-utc", in: signInFilter{start: "2026-03-01T02:00:00+02:00", status: "success"},
			filter: "createdDateTime ge 2026-03-01T00:00:00Z and status/errorCode eq 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := c.in.query()
			if (err != nil) != c.fail {
				t.Fatalf("error %v, want failure %v", err, c.fail)
			}
			if err == nil && (q.Get("$filter") != c.filter || q.Get("$top") != c.top) {
				t.Fatalf("query %v, want $filter %q $top %q", q, c.filter, c.top)
			}
		})
	}
}
