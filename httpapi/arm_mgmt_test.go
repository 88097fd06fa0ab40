package httpapi_test

import (
	"testing"

	"github.com/latchsh/latch/access"
)

// Management groups: a root per tenant, groups below it, subscriptions placed in them, and
// access granted at a group flowing down to the subscriptions under it — and not elsewhere.
func TestARMManagementGroups(t *testing.T) {
	f := newARMFixture(t)
	mgs := "/providers/Microsoft.Management/managementGroups"
	rootID := mgs + "/" + f.Tenant.ID
	team := mgs + "/team"
	subs := "/subscriptions" + apiRG
	f.run(t, []armCase{
		{name: "fail/alice-creates", method: "PUT", path: team + "?api-version=2021-04-01", tok: f.aliceTok, body: map[string]any{"properties": map[string]any{"displayName": "Team"}}, status: 403, code: codeAuthz},
		{name: "fail/unknown-parent", method: "PUT", path: team + "?api-version=2021-04-01", tok: f.adminTok,
			body: map[string]any{"properties": map[string]any{"details": map[string]any{"parent": map[string]any{"id": mgs + "/nowhere"}}}}, status: 403, code: codeAuthz},
		{name: "fail/bad-name", method: "PUT", path: mgs + "/bad." + "?api-version=2021-04-01", tok: f.adminTok, body: map[string]any{"properties": map[string]any{}}, status: 400, code: "InvalidManagementGroupName"},
		{name: "ok/create-as-az", method: "PUT", path: team + "?api-version=2021-04-01", tok: f.adminTok,
			body:   map[string]any{"name": "team", "properties": map[string]any{"displayName": "Team", "details": map[string]any{"parent": map[string]any{"id": rootID}}}},
			status: 200, check: func(t *testing.T, m map[string]any) {
				wantField(team, "id")(t, m)
				wantField(rootID, "properties", "details", "parent", "id")(t, m)
			}},
		{name: "ok/root", method: "GET", path: rootID + "?api-version=2021-04-01&$expand=children", tok: f.adminTok, status: 200, check: func(t *testing.T, m map[string]any) {
			wantField("Tenant Root Group", "properties", "displayName")(t, m)
			if ch, _ := field(m, "properties", "children").([]any); len(ch) != 1 {
				t.Fatalf("children %v", ch)
			}
		}},
		{name: "fail/alice-moves-subscription", method: "PUT", path: team + "/subscriptions/" + f.sub + "?api-version=2021-04-01", tok: f.aliceTok, status: 403, code: codeAuthz},
		{name: "ok/move-subscription", method: "PUT", path: team + "/subscriptions/" + f.sub + "?api-version=2021-04-01", tok: f.adminTok, status: 200},
		{name: "fail/delete-non-empty", method: "DELETE", path: team + "?api-version=2021-04-01", tok: f.adminTok, status: 409},
		{name: "fail/delete-root", method: "DELETE", path: rootID + "?api-version=2021-04-01", tok: f.adminTok, status: 400},
		{name: "ok/list-admin", method: "GET", path: mgs + "?api-version=2021-04-01", tok: f.adminTok, status: 200, check: wantIDs(rootID, team)},
		{name: "ok/list-alice-nothing", method: "GET", path: mgs + "?api-version=2021-04-01", tok: f.aliceTok, status: 200, check: wantIDs()},
		{name: "ok/alice-sees-no-subscription", method: "GET", path: subs, tok: f.aliceTok, status: 200, check: wantIDs()},
	})
	f.assign(t, team, f.alice.ID, access.ReaderRoleID)
	f.run(t, []armCase{
		{name: "ok/reader-at-group-sees-subscription", method: "GET", path: subs, tok: f.aliceTok, status: 200, check: wantIDs("/subscriptions/" + f.sub)},
		{name: "fail/reader-cannot-write-below", method: "PUT", path: f.rgPath("x") + apiRG, tok: f.aliceTok, body: map[string]any{"location": "westus"}, status: 403, code: codeAuthz},
		{name: "fail/other-tenant-subscription-hidden", method: "GET", path: "/subscriptions/" + f.otherSub + apiRG, tok: f.aliceTok, status: 404, code: "SubscriptionNotFound"},
		{name: "ok/move-back", method: "DELETE", path: team + "/subscriptions/" + f.sub + "?api-version=2021-04-01", tok: f.adminTok, status: 200},
		{name: "ok/reader-no-longer-inherits", method: "GET", path: subs, tok: f.aliceTok, status: 200, check: wantIDs()},
		{name: "ok/delete", method: "DELETE", path: team + "?api-version=2021-04-01", tok: f.adminTok, status: 200},
	})
}
