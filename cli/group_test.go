package cli

import (
	"strings"
	"testing"
)

func lastARMRequest(h *harness) string {
	log := h.idp.arm.requestLog()
	return log[len(log)-1]
}

func TestResourceGroupCommands(t *testing.T) {
	h := newHarness(t)
	h.login()
	rg := decode(t, mustRun(t, h, "group", "create", "--name", "myResourceGroup", "--location", "southcentralus", "--tags", "env=dev", "team")).(map[string]any)
	if rg["id"] != "/subscriptions/"+subID+"/resourceGroups/myResourceGroup" || rg["location"] != "southcentralus" {
		t.Errorf("create printed %v", rg)
	}
	if tags := rg["tags"].(map[string]any); tags["env"] != "dev" || tags["team"] != "" {
		t.Errorf("tags = %v", tags)
	}
	if r := lastARMRequest(h); r != "PUT /subscriptions/"+subID+"/resourceGroups/myResourceGroup?api-version=2021-04-01" {
		t.Errorf("create request %q", r)
	}
	got := mustRun(t, h, "group", "show", "--resource-group", "myResourceGroup", "--query", "id", "-o", "tsv")
	if got != "/subscriptions/"+subID+"/resourceGroups/myResourceGroup\n" {
		t.Errorf("show id = %q", got)
	}
	mustRun(t, h, "group", "create", "-n", "other", "-l", "westus")
	table := mustRun(t, h, "group", "list", "-o", "table")
	want := "Name             Location        Status\n" +
		"---------------  --------------  ---------\n" +
		"myResourceGroup  southcentralus  Succeeded\n" +
		"other            westus          Succeeded\n"
	if table != want {
		t.Errorf("list table:\n%s\nwant:\n%s", table, want)
	}
	if got := mustRun(t, h, "group", "exists", "-n", "other"); got != "true\n" {
		t.Errorf("exists = %q", got)
	}
	mustRun(t, h, "group", "delete", "-g", "other", "--yes")
	if got := mustRun(t, h, "group", "exists", "-n", "other"); got != "false\n" {
		t.Errorf("exists after delete = %q", got)
	}
}

func TestResourceGroupRefusals(t *testing.T) {
	h := newHarness(t)
	h.login()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/show-missing", []string{"group", "show", "-n", "nope"}, 3, "ERROR: (ResourceGroupNotFound) Resource group 'nope' could not be found."},
		{"fail/no-name", []string{"group", "show"}, 2, "the following arguments are required: --name/--resource-group/-n/-g"},
		{"fail/create-no-location", []string{"group", "create", "-n", "x"}, 2, "location"},
		{"fail/delete-without-yes", []string{"group", "delete", "-n", "x"}, 1, "Unable to prompt for confirmation as no tty available. Use --yes.\nERROR: Operation cancelled."},
		{"fail/unknown-subscription", []string{"group", "list", "--subscription", "Nope"}, 1, "Subscription 'Nope' not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.run(tc.args...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, tc.code, tc.want)
			}
		})
	}
}
