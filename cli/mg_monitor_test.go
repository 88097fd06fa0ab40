package cli

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestManagementGroups(t *testing.T) {
	h := newHarness(t)
	h.login()
	mg := decode(t, mustRun(t, h, "account", "management-group", "create", "--name", "Engineering", "--display-name", "Eng", "--parent", "Contoso")).(map[string]any)
	if mg["displayName"] != "Eng" || mg["id"] != "/providers/Microsoft.Management/managementGroups/Engineering" || mg["properties"] != nil {
		t.Errorf("create printed %v", mg)
	}
	want := map[string]any{"name": "Engineering", "properties": map[string]any{"displayName": "Eng",
		"details": map[string]any{"parent": map[string]any{"id": "/providers/Microsoft.Management/managementGroups/Contoso"}}}}
	if b := armBody(t, h, "PUT /providers/Microsoft.Management/managementGroups/Engineering"); !reflect.DeepEqual(b, want) {
		t.Errorf("create body %v", b)
	}
	if got := mustRun(t, h, "account", "management-group", "list", "--query", "[].name", "-o", "tsv"); got != "Engineering\n" {
		t.Errorf("list = %q", got)
	}
	if got := mustRun(t, h, "account", "management-group", "show", "-n", "Engineering", "--query", "displayName", "-o", "tsv"); got != "Eng\n" {
		t.Errorf("show = %q", got)
	}
	mustRun(t, h, "account", "management-group", "delete", "--name", "Engineering")
	if r := h.run("account", "management-group", "show", "-n", "Engineering"); r.code != 3 {
		t.Errorf("show after delete: %+v", r)
	}
}

func TestActivityLog(t *testing.T) {
	h := newHarness(t)
	h.login()
	mustRun(t, h, "group", "create", "-n", "rg1", "-l", "westus")
	mustRun(t, h, "group", "create", "-n", "rg2", "-l", "westus")
	got := mustRun(t, h, "monitor", "activity-log", "list", "--resource-group", "rg1", "--offset", "1h", "--query", "[].operationName.value", "-o", "tsv")
	if got != "Microsoft.Resources/resourceGroups/write\n" {
		t.Errorf("events = %q", got)
	}
	req := h.idp.arm.requestLog()
	u, _ := url.Parse(strings.SplitN(req[len(req)-1], " ", 2)[1])
	f := u.Query().Get("$filter")
	if !strings.HasPrefix(f, "eventTimestamp ge ") || !strings.HasSuffix(f, " and resourceGroupName eq 'rg1'") || u.Query().Get("api-version") != "2015-04-01" {
		t.Errorf("request %s", req[len(req)-1])
	}
	if got := mustRun(t, h, "monitor", "activity-log", "list", "--max-events", "1", "--query", "length(@)"); got != "1\n" {
		t.Errorf("--max-events 1 gave %s", got)
	}
	if r := h.run("monitor", "activity-log", "list", "--offset", "soon"); r.code != 2 || !strings.Contains(r.stderr, "invalid period value") {
		t.Errorf("fail/bad-offset: %+v", r)
	}
}

func TestActivityLogTimeRange(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		o    activityLogOptions
		want string
	}{
		{"ok/offset-from-now", activityLogOptions{offset: "1h"}, "eventTimestamp ge '2026-05-01T11:00:00Z' and eventTimestamp le '2026-05-01T12:00:00Z'"},
		{"ok/offset-from-start", activityLogOptions{offset: "1d", start: "2026-04-01T00:00:00Z"}, "eventTimestamp ge '2026-04-01T00:00:00Z' and eventTimestamp le '2026-04-02T00:00:00Z'"},
		{"ok/correlation-wins", activityLogOptions{offset: "30m", correlationID: "c1", rg: "rg", caller: "a@b"}, "eventTimestamp ge '2026-05-01T11:30:00Z' and eventTimestamp le '2026-05-01T12:00:00Z' and correlationId eq 'c1' and caller eq 'a@b'"},
	}
	for _, tc := range cases {
		q, err := tc.o.query(now)
		if err != nil || q.Get("$filter") != tc.want {
			t.Errorf("%s: %q, %v", tc.name, q.Get("$filter"), err)
		}
	}
	if _, err := (activityLogOptions{offset: "1h", start: "yesterday"}).query(now); err == nil {
		t.Error("fail/bad-start-time: accepted")
	}
}
