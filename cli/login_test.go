package cli

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoginFailures(t *testing.T) {
	cases := []struct {
		name  string
		setup func(h *harness)
		args  func(h *harness) []string
		code  int
		want  string
	}{
		{name: "fail/no-server", args: func(h *harness) []string { return []string{"login"} },
			code: 2, want: "ERROR: the following arguments are required: --server"},
		{name: "fail/plain-http-remote", args: func(h *harness) []string { return []string{"login", "--server", "http://latch.example.com"} },
			code: 2, want: "must use https"},
		{name: "fail/sp-without-tenant", args: func(h *harness) []string {
			return []string{"login", "--server", h.idp.url(), "--service-principal", "-u", "x", "-p", "y"}
		}, code: 2, want: "usage error: --service-principal --username NAME --password SECRET --tenant TENANT"},
		{name: "fail/unknown-ca", args: func(h *harness) []string { return []string{"login", "--server", h.idp.url(), "--use-device-code"} },
			code: 1, want: "pass --ca-file with the server's ca.pem"},
		{name: "fail/unknown-tenant", args: func(h *harness) []string {
			return []string{"login", "--server", h.idp.url(), "--ca-file", h.idp.caFile, "--tenant", "fabrikam.test", "--use-device-code"}
		}, code: 1, want: "(invalid_tenant) AADSTS90002"},
		{name: "fail/wrong-secret", args: func(h *harness) []string {
			return []string{"login", "--server", h.idp.url(), "--ca-file", h.idp.caFile, "--service-principal",
				"-u", "99999999-0000-0000-0000-000000000009", "-p", "wrong", "--tenant", homeDomain}
		}, code: 1, want: "ERROR: (invalid_client)"},
		{name: "fail/no-subscriptions", setup: func(h *harness) { h.idp.subs = nil },
			args: func(h *harness) []string {
				return []string{"login", "--server", h.idp.url(), "--ca-file", h.idp.caFile, "--use-device-code"}
			},
			code: 1, want: "No subscriptions found for alice@contoso.test."},
		{name: "fail/connection-refused", args: func(h *harness) []string { return []string{"login", "--server", "https://127.0.0.1:1"} },
			code: 1, want: "connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			res := h.run(tc.args(h)...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", res.code, res.stderr, tc.code, tc.want)
			}
			if r := h.run("account", "show"); r.code != 1 {
				t.Errorf("a failed login left an account behind: %+v", r)
			}
		})
	}
}

func TestLoginDeviceCodePrintsSubscriptions(t *testing.T) {
	h := newHarness(t)
	res := h.login()
	want := "To sign in, use a web browser to open the page " + h.idp.url() + "/devicelogin and enter the code ABCD-EFGH to authenticate.\n"
	if res.stderr != want {
		t.Errorf("stderr = %q, want %q", res.stderr, want)
	}
	got := decode(t, res.stdout)
	wantList := []any{map[string]any{
		"cloudName": "Latch", "homeTenantId": homeTenant, "id": subID, "isDefault": true,
		"managedByTenants": []any{}, "name": "Production", "state": "Enabled", "tenantId": homeTenant,
		"user": map[string]any{"name": userName, "type": "user"},
	}}
	if !reflect.DeepEqual(got, wantList) {
		t.Errorf("login output = %#v", got)
	}
}

func TestAccountCommands(t *testing.T) {
	h := newHarness(t)
	h.idp.subs = append(h.idp.subs, map[string]any{"subscriptionId": "bbbbbbbb-0000-0000-0000-000000000002",
		"tenantId": homeTenant, "displayName": "Staging", "state": "Enabled"})
	h.login()
	show := decode(t, h.run("account", "show").stdout).(map[string]any)
	if show["environmentName"] != "Latch" || show["id"] != subID || show["isDefault"] != true {
		t.Errorf("account show = %v", show)
	}
	if _, ok := show["cloudName"]; ok {
		t.Error("account show has cloudName; az's has environmentName")
	}
	if r := h.run("account", "set", "--subscription", "nope"); r.code != 1 || !strings.Contains(r.stderr, "doesn't exist") {
		t.Errorf("set to a missing subscription: %+v", r)
	}
	if r := h.run("account", "set", "-s", "staging"); r.code != 0 {
		t.Fatalf("account set: %+v", r)
	}
	if got := h.run("account", "show", "--query", "name", "-o", "tsv").stdout; got != "Staging\n" {
		t.Errorf("default after set = %q", got)
	}
	table := h.run("account", "list", "-o", "table").stdout
	wantTable := "Name        CloudName    SubscriptionId                        TenantId                              State    IsDefault\n"
	if !strings.HasPrefix(table, wantTable) || !strings.Contains(table, "Staging     Latch        bbbbbbbb-0000-0000-0000-000000000002") {
		t.Errorf("account list table:\n%s", table)
	}
	if r := h.run("logout"); r.code != 0 {
		t.Fatalf("logout: %+v", r)
	}
	if r := h.run("logout"); r.code != 1 || !strings.Contains(r.stderr, "There are no active accounts.") {
		t.Errorf("second logout: %+v", r)
	}
	if r := h.run("account", "show"); r.code != 1 || r.stderr != "ERROR: Please run 'latch login' to setup account.\n" {
		t.Errorf("show after logout: %+v", r)
	}
}

func TestLoginServicePrincipal(t *testing.T) {
	h := newHarness(t)
	res := h.run("login", "--server", h.idp.url(), "--ca-file", h.idp.caFile, "--service-principal",
		"-u", "99999999-0000-0000-0000-000000000009", "-p", "s3cret", "--tenant", homeDomain, "--query", "[0].user")
	if res.code != 0 {
		t.Fatalf("login: %+v", res)
	}
	want := map[string]any{"name": "99999999-0000-0000-0000-000000000009", "type": "servicePrincipal"}
	if got := decode(t, res.stdout); !reflect.DeepEqual(got, want) {
		t.Errorf("user = %v", got)
	}
	tok := decode(t, h.run("account", "get-access-token", "--resource-type", "ms-graph").stdout).(map[string]any)
	if tok["tenant"] != homeTenant || tok["tokenType"] != "Bearer" {
		t.Errorf("token = %v", tok)
	}
	if g := h.idp.grantLog(); !reflect.DeepEqual(g, []string{"client_credentials", "client_credentials"}) {
		t.Errorf("grants = %v", g)
	}
}

func TestLoginAllowNoSubscriptions(t *testing.T) {
	h := newHarness(t)
	h.idp.subs = nil
	res := h.login("--allow-no-subscriptions", "--query", "[].[id,name]", "-o", "tsv")
	if res.stdout != homeTenant+"\tN/A(tenant level account)\n" {
		t.Errorf("tenant-level account = %q", res.stdout)
	}
}

func TestLoginRemembersServer(t *testing.T) {
	h := newHarness(t)
	h.login()
	res := h.run("login", "--use-device-code", "-o", "none")
	if res.code != 0 || res.stdout != "" {
		t.Errorf("second login without --server: %+v", res)
	}
}
