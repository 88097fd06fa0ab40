package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestGraphGetByIds(t *testing.T) {
	f := newGraphFixture(t)
	g := f.createGroup(t, f.Tenant.ID, "ops")
	// az role assignment create sends exactly these types.
	azTypes := []string{"user", "group", "servicePrincipal", "directoryObjectPartnerReference"}
	all := []string{f.alice.ID, g.ID, f.plainApp.ID, f.otherAdmin.ID, uuid.NewString()}
	const path = "/v1.0/directoryObjects/getByIds"
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "POST", path: path, body: map[string]any{"ids": all}, status: 401, code: codeAuth},
		{name: "fail/app-without-role", method: "POST", path: path, tok: f.plainAppTok, body: map[string]any{"ids": all}, status: 403, code: codeDenied},
		{name: "fail/no-ids", method: "POST", path: path, tok: f.aliceTok, body: `{"ids":[]}`, status: 400, code: codeBad},
		{name: "fail/unknown-field", method: "POST", path: path, tok: f.aliceTok, body: `{"ids":["x"],"expand":true}`, status: 400, code: codeBad},
		{name: "fail/unknown-type", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": all, "types": []string{"spaceship"}}, status: 400, code: codeBad},
		{name: "fail/too-many", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": make([]string, 1001)}, status: 400, code: codeBad},
		{name: "fail/get-method", method: "GET", path: path, tok: f.aliceTok, status: 400},
		{name: "ok/az-types", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": all, "types": azTypes}, status: 200, check: func(t *testing.T, m map[string]any) {
			wantIDs(f.alice.ID, g.ID, f.plainApp.ID)(t, m)
			types := map[string]bool{}
			for _, o := range values(t, m) {
				types[o["@odata.type"].(string)] = true
			}
			for _, want := range []string{"#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.servicePrincipal"} {
				if !types[want] {
					t.Errorf("no %s in %v", want, types)
				}
			}
		}},
		{name: "ok/only-users", method: "POST", path: path, tok: f.readerAppTok, body: map[string]any{"ids": all, "types": []string{"User"}}, status: 200, check: wantIDs(f.alice.ID)},
		{name: "ok/applications", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": all, "types": []string{"application"}}, status: 200, check: func(t *testing.T, m map[string]any) {
			v := values(t, m)
			if len(v) != 1 || v[0]["@odata.type"] != "#microsoft.graph.application" {
				t.Errorf("applications %v", v)
			}
		}},
		{name: "ok/upper-case-id", method: "POST", path: path, tok: f.aliceTok, body: map[string]any{"ids": []string{strings.ToUpper(f.alice.ID)}}, status: 200, check: wantIDs(f.alice.ID)},
		{name: "ok/other-tenant-sees-nothing", method: "POST", path: path, tok: f.otherTok, body: map[string]any{"ids": all[:3]}, status: 200, check: wantIDs()},
	})
}
