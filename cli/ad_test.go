package cli

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// lastGraphRequest is the fake Graph's last logged request: "METHOD path?filter body".
func lastGraphRequest(h *harness) string {
	log := h.idp.graph.requestLog()
	return log[len(log)-1]
}

func mustRun(t *testing.T, h *harness, args ...string) string {
	t.Helper()
	res := h.run(args...)
	if res.code != 0 {
		t.Fatalf("%v: exit %d\n%s", args, res.code, res.stderr)
	}
	return res.stdout
}

func TestADUser(t *testing.T) {
	h := newHarness(t)
	h.login()
	out := mustRun(t, h, "ad", "user", "create", "--display-name", "Bob O'Neil", "--password", "Pw-123456!",
		"--user-principal-name", "bob@contoso.test", "--force-change-password-next-sign-in")
	user := decode(t, out).(map[string]any)
	var body map[string]any
	json.Unmarshal([]byte(strings.SplitN(lastGraphRequest(h), " ", 3)[2]), &body)
	want := map[string]any{"accountEnabled": true, "displayName": "Bob O'Neil", "mailNickname": "bob",
		"userPrincipalName": "bob@contoso.test",
		"passwordProfile":   map[string]any{"password": "Pw-123456!", "forceChangePasswordNextSignIn": true}}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("create body = %v", body)
	}

	got := mustRun(t, h, "ad", "user", "list", "--display-name", "Bob O'", "--query", "[].userPrincipalName", "-o", "tsv")
	if got != "bob@contoso.test\n" || !strings.Contains(lastGraphRequest(h), "?startswith(displayName,'Bob O''') ") {
		t.Errorf("list by display name: %q, request %q", got, lastGraphRequest(h))
	}
	mustRun(t, h, "ad", "user", "list", "--upn", "bob@contoso.test", "--filter", "accountEnabled eq true")
	if !strings.Contains(lastGraphRequest(h), "?userPrincipalName eq 'bob@contoso.test' and accountEnabled eq true ") {
		t.Errorf("combined filter: %q", lastGraphRequest(h))
	}

	mustRun(t, h, "ad", "user", "update", "--id", "bob@contoso.test", "--account-enabled", "false", "--display-name", "Bob")
	if r := lastGraphRequest(h); r != `PATCH /v1.0/users/bob@contoso.test? {"accountEnabled":false,"displayName":"Bob"}` {
		t.Errorf("update request %q", r)
	}
	show := decode(t, mustRun(t, h, "ad", "user", "show", "--id", user["id"].(string))).(map[string]any)
	if show["displayName"] != "Bob" || show["accountEnabled"] != false {
		t.Errorf("show after update = %v", show)
	}
	mustRun(t, h, "ad", "user", "update", "--id", "bob@contoso.test", "--password", "New-pw-1!", "--force-change-password-next-sign-in", "false")
	if r := lastGraphRequest(h); !strings.HasSuffix(r, `{"passwordProfile":{"forceChangePasswordNextSignIn":false,"password":"New-pw-1!"}}`) {
		t.Errorf("password update %q", r)
	}
	if out := mustRun(t, h, "ad", "user", "delete", "--id", "bob@contoso.test"); out != "" {
		t.Errorf("delete printed %q", out)
	}
	if r := h.run("ad", "user", "show", "--id", "bob@contoso.test"); r.code != 3 {
		t.Errorf("show after delete: %+v", r)
	}
}

func TestADGroupMembers(t *testing.T) {
	h := newHarness(t)
	h.login()
	group := decode(t, mustRun(t, h, "ad", "group", "create", "--display-name", "Linux admins", "--mail-nickname", "linux-admins"))
	gid := objectID(group)
	if !strings.Contains(lastGraphRequest(h), `"mailEnabled":false`) || !strings.Contains(lastGraphRequest(h), `"securityEnabled":true`) {
		t.Errorf("group create body %q", lastGraphRequest(h))
	}
	user := decode(t, mustRun(t, h, "ad", "user", "create", "--display-name", "A", "--password", "x", "--user-principal-name", "a@contoso.test"))
	uid := objectID(user)

	mustRun(t, h, "ad", "group", "member", "add", "--group", "Linux admins", "--member-id", uid)
	wantRef := `{"@odata.id":"` + h.idp.url() + `/v1.0/directoryObjects/` + uid + `"}`
	if r := lastGraphRequest(h); r != "POST /v1.0/groups/"+gid+"/members/$ref? "+wantRef {
		t.Errorf("member add request %q", r)
	}
	if got := mustRun(t, h, "ad", "group", "member", "check", "--group", gid, "--member-id", uid, "--query", "value"); got != "true\n" {
		t.Errorf("check after add = %q", got)
	}
	if got := mustRun(t, h, "ad", "group", "member", "list", "-g", gid, "--query", "[].id", "-o", "tsv"); got != uid+"\n" {
		t.Errorf("member list = %q", got)
	}
	mustRun(t, h, "ad", "group", "member", "remove", "--group", "Linux admins", "--member-id", uid)
	if got := mustRun(t, h, "ad", "group", "member", "check", "--group", gid, "--member-id", uid, "--query", "value"); got != "false\n" {
		t.Errorf("check after remove = %q", got)
	}
	if got := mustRun(t, h, "ad", "group", "show", "--group", "Linux admins", "--query", "id", "-o", "tsv"); got != gid+"\n" {
		t.Errorf("show by name = %q", got)
	}
	mustRun(t, h, "ad", "group", "create", "--display-name", "Linux admins", "--mail-nickname", "dup")
	if r := h.run("ad", "group", "show", "--group", "Linux admins"); r.code != 1 || !strings.Contains(r.stderr, "More than one group") {
		t.Errorf("ambiguous name: %+v", r)
	}
	mustRun(t, h, "ad", "group", "delete", "--group", gid)
	if r := h.run("ad", "group", "show", "--group", gid); r.code != 3 {
		t.Errorf("show deleted group: %+v", r)
	}
}

func TestADServicePrincipal(t *testing.T) {
	h := newHarness(t)
	h.login()
	const appID = "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0"
	sp := decode(t, mustRun(t, h, "ad", "sp", "create", "--id", appID)).(map[string]any)
	if lastGraphRequest(h) != `POST /v1.0/servicePrincipals? {"appId":"`+appID+`"}` {
		t.Errorf("create request %q", lastGraphRequest(h))
	}
	got := decode(t, mustRun(t, h, "ad", "sp", "show", "--id", appID)).(map[string]any)
	if got["id"] != sp["id"] {
		t.Errorf("show by app id = %v", got)
	}
	h.env["LATCH_OUTPUT"] = "json"
	res := h.run("ad", "sp", "credential", "reset", "--id", appID, "--years", "2", "--display-name", "ci")
	cred := decode(t, res.stdout)
	want := map[string]any{"appId": appID, "password": "new-secret", "tenant": homeTenant}
	if res.code != 0 || !reflect.DeepEqual(cred, want) || !strings.HasPrefix(res.stderr, "WARNING: The output includes credentials") {
		t.Errorf("credential reset: %v, stderr %q", cred, res.stderr)
	}
	if r := lastGraphRequest(h); !strings.Contains(r, `"displayName":"ci"`) || !strings.Contains(r, `"endDateTime":"`) {
		t.Errorf("addPassword body %q", r)
	}
	names := mustRun(t, h, "ad", "sp", "list", "--display-name", "app ", "--query", "length(@)")
	if names != "1\n" {
		t.Errorf("sp list = %q", names)
	}
	mustRun(t, h, "ad", "sp", "delete", "--id", sp["id"].(string))
	if r := h.run("ad", "sp", "show", "--id", sp["id"].(string)); r.code != 3 {
		t.Errorf("show after delete: %+v", r)
	}
}
