package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/testenv"
)

// Named locations, authentication strengths and the sign-in log's time window through the
// CLI against the real server: what the CLI sends is what the server parses and keeps.
func TestConditionalAccessLocationsAndStrengthsCLI(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	l := ownerLogin(t, srv)

	// Refusals first: by the CLI before any request, then by the server.
	l.refused(2, "conditional-access", "named-location", "create", "--name", "x", "--ip-ranges", "10.0.0.0/40")
	l.refused(1, "conditional-access", "named-location", "create", "--name", "Everything", "--ip-ranges", "0.0.0.0/1")
	l.refused(1, "conditional-access", "authentication-strength", "create", "--name", "x", "--allowed-combinations", "carrierPigeon")
	l.refused(3, "conditional-access", "named-location", "show", "--id", "Nowhere")

	var office struct {
		ID, DisplayName string
		IsTrusted       bool
		IPRanges        []struct{ CIDRAddress string } `json:"ipRanges"`
	}
	l.ok(&office, "conditional-access", "named-location", "create", "--name", "Office", "--ip-ranges", "203.0.113.0/24,2001:db8::/48", "--trusted")
	if office.ID == "" || !office.IsTrusted || len(office.IPRanges) != 2 {
		t.Fatalf("created %+v", office)
	}
	var country struct {
		ID        string
		Countries []string `json:"countriesAndRegions"`
	}
	l.ok(&country, "conditional-access", "named-location", "create", "--name", "Benelux", "--countries", "NL,be")
	if strings.Join(country.Countries, ",") != "NL,BE" {
		t.Fatalf("country location %+v", country)
	}
	l.ok(&office, "conditional-access", "named-location", "update", "--id", "Office", "--trusted=false")
	if office.IsTrusted {
		t.Fatalf("still trusted after update: %+v", office)
	}
	var locs []struct{ ID string }
	l.ok(&locs, "conditional-access", "named-location", "list")
	if len(locs) != 2 {
		t.Fatalf("list %+v", locs)
	}
	l.ok(nil, "conditional-access", "named-location", "delete", "--id", "Benelux")
	l.refused(3, "conditional-access", "named-location", "show", "--id", country.ID)

	var strengths []struct{ ID, PolicyType string }
	l.ok(&strengths, "conditional-access", "authentication-strength", "list")
	builtIn := map[string]bool{}
	for _, s := range strengths {
		builtIn[s.ID] = s.PolicyType == "builtIn"
	}
	for _, id := range []string{"00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000003", "00000000-0000-0000-0000-000000000004"} {
		if !builtIn[id] {
			t.Fatalf("built-in %s missing from %+v", id, strengths)
		}
	}
	var keys struct {
		ID, PolicyType      string
		AllowedCombinations []string
	}
	l.ok(&keys, "conditional-access", "authentication-strength", "create", "--name", "Keys only", "--allowed-combinations", "fido2")
	if keys.PolicyType != "custom" || strings.Join(keys.AllowedCombinations, ";") != "fido2" {
		t.Fatalf("custom strength %+v", keys)
	}
	l.refused(1, "conditional-access", "authentication-strength", "delete", "--id", "00000000-0000-0000-0000-000000000004")
	l.ok(nil, "conditional-access", "authentication-strength", "delete", "--id", "Keys only")
	l.refused(3, "conditional-access", "authentication-strength", "show", "--id", keys.ID)

	signInWindow(t, l, srv)
}

// signInWindow checks --start-time with --end-time on entries written to the store.
func signInWindow(t *testing.T, l *latch, srv *testenv.Server) {
	t.Helper()
	t0 := time.Now().UTC().Truncate(time.Second)
	for i, at := range []time.Time{t0.Add(-3 * time.Hour), t0.Add(-2 * time.Hour), t0.Add(-time.Hour)} {
		e := signinlog.Entry{ID: []string{"a", "b", "c"}[i], CreatedDateTime: at, UserPrincipalName: "alice@contoso.test", AppID: "app"}
		if err := srv.Store.AppendSignIn(t.Context(), srv.TenantID, e); err != nil {
			t.Fatal(err)
		}
	}
	l.refused(2, "signin", "list", "--end-time", "tomorrow")
	var got []struct{ ID string }
	l.ok(&got, "signin", "list", "--start-time", t0.Add(-2*time.Hour).Format(time.RFC3339), "--end-time", t0.Add(-90*time.Minute).Format(time.RFC3339))
	if len(got) != 1 || got[0].ID != "b" {
		t.Fatalf("window: %+v", got)
	}
}
