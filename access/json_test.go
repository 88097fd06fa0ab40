package access

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
)

func TestRoleDefinitionJSONShape(t *testing.T) {
	reader, _ := BuiltInRole(ReaderRoleID)
	b, err := reader.JSONAt(MustParseScope(rgScope))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"/subscriptions/` + sub1 + `/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",` +
		`"name":"acdd72a7-3385-48ef-bd42-f606fba81ae7","type":"Microsoft.Authorization/roleDefinitions",` +
		`"properties":{"roleName":"Reader","type":"BuiltInRole","description":"View all resources, but does not allow you to make any changes.",` +
		`"assignableScopes":["/"],"permissions":[{"actions":["*/read"],"notActions":[],"dataActions":[],"notDataActions":[]}]}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	plain, _ := json.Marshal(reader)
	if !strings.HasPrefix(string(plain), `{"id":"/providers/Microsoft.Authorization/roleDefinitions/acdd72a7`) {
		t.Fatalf("MarshalJSON should use the tenant-wide id: %s", plain)
	}
}

func TestRoleAssignmentJSONShape(t *testing.T) {
	a := RoleAssignment{ID: assignmentID, Scope: rgScope, RoleDefinitionID: VMAdministratorLoginRoleID, PrincipalID: alice,
		PrincipalType: PrincipalUser, CreatedOn: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), CreatedBy: bob}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + rgScope + `/providers/Microsoft.Authorization/roleAssignments/` + assignmentID + `","name":"` + assignmentID + `",` +
		`"type":"Microsoft.Authorization/roleAssignments","properties":{"roleDefinitionId":"/subscriptions/` + sub1 +
		`/providers/Microsoft.Authorization/roleDefinitions/1c0163c0-47e6-4577-8991-ea5c82e286e4","principalId":"` + alice + `",` +
		`"principalType":"User","scope":"` + rgScope + `","condition":null,"conditionVersion":null,"description":null,` +
		`"createdOn":"2024-05-06T07:08:09Z","createdBy":"` + bob + `","updatedBy":null,"delegatedManagedIdentityResourceId":null}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back RoleAssignment
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, a) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestRoleAssignmentFromAzPut(t *testing.T) {
	// The body az role assignment create sends.
	body := `{"properties":{"roleDefinitionId":"/subscriptions/` + strings.ToUpper(sub1) + `/providers/Microsoft.Authorization/roleDefinitions/1C0163C0-47e6-4577-8991-ea5c82e286e4",` +
		`"principalId":"` + alice + `","principalType":"User"}}`
	var a RoleAssignment
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	want := RoleAssignment{RoleDefinitionID: VMAdministratorLoginRoleID, PrincipalID: alice, PrincipalType: PrincipalUser}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %+v", a)
	}
}

func TestRoleDefinitionFromPut(t *testing.T) {
	body := `{"properties":{"roleName":"Machine Operator","description":"","type":"CustomRole",
	  "permissions":[{"actions":["Microsoft.Compute/virtualMachines/read"],"notActions":[],"dataActions":[],"notDataActions":[]}],
	  "assignableScopes":["/subscriptions/` + sub1 + `"]}}`
	var d RoleDefinition
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	d.ID = customRoleID // from the URL
	if err := ValidateRoleDefinition(d); err != nil {
		t.Fatal(err)
	}
	if d.Permissions[0].NotActions != nil {
		t.Fatal("empty lists should decode to nil")
	}
}

func TestJSONRefusals(t *testing.T) {
	guid := VMUserLoginRoleID
	for _, tc := range []struct {
		name, doc  string
		assignment bool
	}{
		{name: "fail/definition-unknown-top-field", doc: `{"properties":{},"extra":1}`},
		{name: "fail/definition-unknown-property", doc: `{"properties":{"roleName":"x","isServiceRole":true}}`},
		{name: "fail/definition-permission-condition", doc: `{"properties":{"permissions":[{"actions":["*"],"condition":"x","conditionVersion":"2.0"}]}}`},
		{name: "fail/definition-wrong-type", doc: `{"type":"Microsoft.Authorization/roleAssignments","properties":{}}`},
		{name: "fail/definition-name-not-guid", doc: `{"name":"Reader","properties":{}}`},
		{name: "fail/definition-id-name-disagree", doc: `{"id":"/providers/Microsoft.Authorization/roleDefinitions/` + guid + `","name":"` + OwnerRoleID + `","properties":{}}`},
		{name: "fail/definition-id-wrong-path", doc: `{"id":"/providers/Microsoft.Authorization/roleAssignments/` + guid + `","properties":{}}`},
		{name: "fail/definition-trailing-data", doc: `{"properties":{}} {}`},
		{name: "fail/definition-not-object", doc: `[]`},
		{name: "fail/definition-actions-not-strings", doc: `{"properties":{"permissions":[{"actions":[1]}]}}`},
		{name: "fail/definition-oversized", doc: `{"properties":{"description":"` + strings.Repeat("x", MaxJSONSize) + `"}}`},
		{name: "fail/definition-year-zero", doc: `{"properties":{"createdOn":"0000-01-01T00:30:00+01:00"}}`},
		{name: "fail/assignment-unknown-property", doc: `{"properties":{"principalId":"x","canDelegate":true}}`, assignment: true},
		{name: "fail/assignment-unknown-top-field", doc: `{"properties":{},"sku":{}}`, assignment: true},
		{name: "fail/assignment-bad-role-id", doc: `{"properties":{"roleDefinitionId":"Owner"}}`, assignment: true},
		{name: "fail/assignment-role-id-bad-scope", doc: `{"properties":{"roleDefinitionId":"/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/` + guid + `"}}`, assignment: true},
		{name: "fail/assignment-bad-scope", doc: `{"properties":{"scope":"/subscriptions/x"}}`, assignment: true},
		{name: "fail/assignment-name-not-guid", doc: `{"name":"a1","properties":{}}`, assignment: true},
		{name: "fail/assignment-id-scope-disagree", doc: `{"id":"` + rgScope + `/providers/Microsoft.Authorization/roleAssignments/` + assignmentID + `","properties":{"scope":"` + subScope + `"}}`, assignment: true},
		{name: "fail/assignment-id-name-disagree", doc: `{"id":"` + rgScope + `/providers/Microsoft.Authorization/roleAssignments/` + assignmentID + `","name":"` + guid + `","properties":{}}`, assignment: true},
		{name: "fail/assignment-wrong-type", doc: `{"type":"Microsoft.Authorization/roleDefinitions","properties":{}}`, assignment: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Called directly, not through json.Unmarshal, which would catch some of these
			// (trailing data) before the method sees them.
			var err error
			if tc.assignment {
				err = new(RoleAssignment).UnmarshalJSON([]byte(tc.doc))
			} else {
				err = new(RoleDefinition).UnmarshalJSON([]byte(tc.doc))
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
		})
	}
}

func TestRoleAssignmentIDFromARMID(t *testing.T) {
	doc := `{"id":"` + strings.ToUpper(rgScope) + `/providers/Microsoft.Authorization/roleAssignments/` + strings.ToUpper(assignmentID) + `","properties":{}}`
	var a RoleAssignment
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		t.Fatal(err)
	}
	if a.ID != assignmentID || !MustParseScope(a.Scope).Equal(MustParseScope(rgScope)) {
		t.Fatalf("got %+v", a)
	}
	root := RoleAssignment{ID: assignmentID, Scope: "/"}
	if root.ARMID() != "/providers/Microsoft.Authorization/roleAssignments/"+assignmentID {
		t.Fatalf("root assignment id %s", root.ARMID())
	}
	if sc, id, err := ParseRoleAssignmentID(root.ARMID()); err != nil || sc != RootScope || id != assignmentID {
		t.Fatalf("%v %v %v", sc, id, err)
	}
}
