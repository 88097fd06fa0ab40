package cli

import (
	"reflect"
	"strings"
	"testing"
)

func TestSpreadListValues(t *testing.T) {
	root := newRoot(newApp(strings.NewReader(""), nil, nil, func(string) string { return "" }))
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"ok/several-values", []string{"group", "create", "-n", "g", "--tags", "a=b", "c", "-l", "x"},
			[]string{"group", "create", "-n", "g", "--tags=a=b", "--tags=c", "-l", "x"}},
		{"ok/bare-flag", []string{"vm", "create", "--assign-identity", "--admin-username", "u"},
			[]string{"vm", "create", "--assign-identity", "--admin-username", "u"}},
		{"ok/value-with-comma", []string{"group", "create", "--tags", "k=a,b"}, []string{"group", "create", "--tags=k=a,b"}},
		{"ok/other-command-untouched", []string{"ad", "user", "list", "--upn", "x"}, []string{"ad", "user", "list", "--upn", "x"}},
		{"ok/after-double-dash", []string{"group", "create", "--", "--tags", "a"}, []string{"group", "create", "--", "--tags", "a"}},
	}
	for _, tc := range cases {
		if got := spreadListValues(root, tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %q", tc.name, got)
		}
	}
}

func TestSubscriptionFlag(t *testing.T) {
	h := newHarness(t)
	h.idp.subs = append(h.idp.subs, map[string]any{"subscriptionId": "bbbbbbbb-0000-0000-0000-000000000002",
		"tenantId": homeTenant, "displayName": "Staging", "state": "Enabled"})
	h.login()
	mustRun(t, h, "group", "list", "--subscription", "Staging")
	if r := lastARMRequest(h); !strings.HasPrefix(r, "GET /subscriptions/bbbbbbbb-0000-0000-0000-000000000002/resourcegroups?") {
		t.Errorf("--subscription by name sent %q", r)
	}
	mustRun(t, h, "role", "assignment", "list", "--subscription", "bbbbbbbb-0000-0000-0000-000000000002")
	if r := h.idp.arm.requestLog(); !strings.Contains(strings.Join(r, "\n"), "GET /subscriptions/bbbbbbbb-0000-0000-0000-000000000002/providers/Microsoft.Authorization/roleAssignments?") {
		t.Errorf("--subscription by id: %v", r)
	}
}
