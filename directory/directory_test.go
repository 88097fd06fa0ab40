package directory

import (
	"slices"
	"testing"

	"github.com/latchsh/latch/errs"
)

const (
	g1 = "11111111-1111-1111-1111-111111111111"
	g2 = "22222222-2222-2222-2222-222222222222"
	g3 = "33333333-3333-3333-3333-333333333333"
	u1 = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
	u2 = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
)

func TestTransitiveGroups(t *testing.T) {
	groups := []Group{
		{ID: g1, Members: []string{u1, g2}},
		{ID: g2, Members: []string{g3}},
		{ID: g3, Members: []string{g1, u2}}, // a cycle g1 → g2 → g3 → g1
	}
	got := TransitiveGroups(u2, groups)
	slices.Sort(got)
	if want := []string{g1, g2, g3}; !slices.Equal(got, want) {
		t.Fatalf("ok/cycle: u2 is in %v, want %v", got, want)
	}
	if got := TransitiveGroups(u1, groups[:2]); !slices.Equal(got, []string{g1}) {
		t.Fatalf("ok/upward-only: u1 is in %v, want only g1 (membership does not flow down)", got)
	}
	if got := TransitiveGroups("cccccccc-cccc-cccc-cccc-cccccccccccc", groups); len(got) != 0 {
		t.Fatalf("fail/stranger: %v", got)
	}
	members := TransitiveMembers(g2, groups)
	slices.Sort(members)
	if want := []string{g1, g3, u1, u2}; !slices.Equal(members, want) {
		t.Fatalf("TransitiveMembers(g2) = %v, want %v (everything reachable but g2 itself)", members, want)
	}
}

func TestAllowed(t *testing.T) {
	as := []RoleAssignment{
		{PrincipalID: u1, RoleDefinitionID: UserAdministrator.TemplateID},
		{PrincipalID: g1, RoleDefinitionID: GlobalReader.TemplateID},
		{PrincipalID: u2, RoleDefinitionID: "not-a-role"},
	}
	cases := []struct {
		name string
		ids  []string
		act  string
		want bool
	}{
		{"fail/no-assignment", []string{"someone"}, Action("users", ActionRead), false},
		{"fail/unknown-role", []string{u2}, Action("users", ActionCreate), false},
		{"fail/user-admin-apps", []string{u1}, Action("servicePrincipals", ActionCreate), false},
		{"fail/reader-writes", []string{g1}, Action("users", ActionDelete), false},
		{"fail/segment-count", []string{u1}, "microsoft.directory/users", false},
		{"ok/user-admin-users", []string{u1}, Action("users", ActionCreate), true},
		{"ok/user-admin-reads-apps", []string{u1}, Action("servicePrincipals", ActionRead), true},
		{"ok/through-group", []string{u2, g1}, Action("groups", ActionRead), true},
		{"ok/case-insensitive", []string{u1}, "Microsoft.Directory/Users/Create", true},
	}
	for _, c := range cases {
		if got := Allowed(as, c.ids, c.act); got != c.want {
			t.Errorf("%s: Allowed(%v, %s) = %v", c.name, c.ids, c.act, got)
		}
	}
	ga := []RoleAssignment{{PrincipalID: u1, RoleDefinitionID: GlobalAdministrator.TemplateID}}
	if !Allowed(ga, []string{u1}, Action("conditionalAccessPolicies", ActionUpdate)) {
		t.Error("ok/global-admin: refused")
	}
}

func TestValidate(t *testing.T) {
	ok := User{UserPrincipalName: "alice@contoso.test", DisplayName: "Alice"}
	cases := map[string]User{
		"fail/other-domain":  {UserPrincipalName: "alice@fabrikam.test", DisplayName: "A"},
		"fail/no-at":         {UserPrincipalName: "alice", DisplayName: "A"},
		"fail/two-dots":      {UserPrincipalName: "a..b@contoso.test", DisplayName: "A"},
		"fail/trailing-dot":  {UserPrincipalName: "a.@contoso.test", DisplayName: "A"},
		"fail/space":         {UserPrincipalName: "a b@contoso.test", DisplayName: "A"},
		"fail/no-name":       {UserPrincipalName: "alice@contoso.test", DisplayName: "  "},
		"fail/unknown-mfa":   {UserPrincipalName: "alice@contoso.test", DisplayName: "A", MFA: "sometimes"},
		"fail/leading-punct": {UserPrincipalName: ".a@contoso.test", DisplayName: "A"},
	}
	for name, u := range cases {
		if err := u.Validate("contoso.test"); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: got %v, want Invalid", name, err)
		}
	}
	if err := ok.Validate("CONTOSO.test"); err != nil {
		t.Errorf("ok/user: %v", err)
	}
	groups := map[string]Group{
		"fail/self-member": {ID: g1, DisplayName: "G", MailNickname: "g", Members: []string{g1}},
		"fail/not-guid":    {ID: g1, DisplayName: "G", MailNickname: "g", Members: []string{"x"}},
		"fail/nickname":    {ID: g1, DisplayName: "G", MailNickname: "g g"},
	}
	for name, g := range groups {
		if err := g.Validate(); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: got %v, want Invalid", name, err)
		}
	}
	if err := (Group{ID: g1, DisplayName: "G", MailNickname: "g", Members: []string{g2}}).Validate(); err != nil {
		t.Errorf("ok/group: %v", err)
	}
}
