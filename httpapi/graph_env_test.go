package httpapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchsh/latch/directory"
)

// graphFixture is a testEnv populated with the principals the Graph tests refuse and admit:
// a plain user, role holders, applications with and without roles, and a second tenant
// whose Global Administrator must see nothing of contoso.test.
type graphFixture struct {
	*testEnv
	admin, alice, userAdmin, otherAdmin directory.User
	readerApp, plainApp                 directory.ServicePrincipal

	adminTok, aliceTok, userAdminTok, otherTok, readerAppTok, plainAppTok string
}

func newGraphFixture(t *testing.T) *graphFixture {
	t.Helper()
	e := newTestEnv(t)
	f := &graphFixture{testEnv: e, admin: e.Admin}
	f.alice = e.createUser(t, e.Tenant.ID, "alice@contoso.test")
	f.userAdmin = e.createUser(t, e.Tenant.ID, "ua@contoso.test", directory.UserAdministrator)
	other := e.createTenant(t, "fabrikam.test")
	f.otherAdmin = e.createUser(t, other.ID, "boss@fabrikam.test", directory.GlobalAdministrator)
	f.readerApp = e.createApp(t, e.Tenant.ID, "reader-app", directory.GlobalReader)
	f.plainApp = e.createApp(t, e.Tenant.ID, "plain-app")
	f.adminTok = e.tokenFor(t, f.admin)
	f.aliceTok = e.tokenFor(t, f.alice)
	f.userAdminTok = e.tokenFor(t, f.userAdmin)
	f.otherTok = e.tokenFor(t, f.otherAdmin)
	f.readerAppTok = e.appToken(t, f.readerApp)
	f.plainAppTok = e.appToken(t, f.plainApp)
	return f
}

// graphCase is one request and the answer it must get (see apiCase).
type graphCase = apiCase

// run executes the cases in order (later cases may depend on earlier changes).
func (f *graphFixture) run(t *testing.T, cases []graphCase) { f.runCases(t, cases) }

// Common refusal codes.
const (
	codeAuth     = "InvalidAuthenticationToken"
	codeDenied   = "Authorization_RequestDenied"
	codeNotFound = "Request_ResourceNotFound"
	codeBad      = "Request_BadRequest"
	codeQuery    = "Request_UnsupportedQuery"
)

// values returns the "value" array of a list answer.
func values(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	raw, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %v", m)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// ids returns the "id" of each object of a list answer.
func ids(t *testing.T, m map[string]any) []string {
	var out []string
	for _, o := range values(t, m) {
		id, _ := o["id"].(string)
		out = append(out, id)
	}
	return out
}

func wantIDs(want ...string) func(t *testing.T, m map[string]any) {
	return func(t *testing.T, m map[string]any) {
		t.Helper()
		got := ids(t, m)
		if strings.Join(sorted(got), ",") != strings.Join(sorted(want), ",") {
			t.Fatalf("ids %v, want %v", got, want)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

// statusOf is a shorthand for requests whose body does not matter.
func (f *graphFixture) statusOf(t *testing.T, method, path, tok string, body any) int {
	t.Helper()
	resp, _ := f.do(t, method, path, tok, body)
	return resp.StatusCode
}
