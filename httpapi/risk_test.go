package httpapi

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/risk"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store/sqlite"
)

// riskEnv is a Server over a real SQLite store whose clock the test moves.
type riskEnv struct {
	s      *Server
	now    time.Time
	tenant string
	user   directory.User
	n      int
}

func newRiskEnv(t *testing.T) *riskEnv {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &riskEnv{now: time.Now().UTC().Truncate(time.Second), tenant: "11111111-1111-4111-8111-111111111111"}
	e.s = &Server{Store: st, Now: func() time.Time { return e.now }}
	ctx := context.Background()
	if err := st.CreateTenant(ctx, directory.Tenant{ID: e.tenant, DisplayName: "c", DefaultDomain: "contoso.test", SigningAlg: "ES256", Created: e.now}); err != nil {
		t.Fatal(err)
	}
	e.user = directory.User{ID: "22222222-2222-4222-8222-222222222222", TenantID: e.tenant, UserPrincipalName: "ada@contoso.test",
		DisplayName: "ada", AccountEnabled: true, Password: directory.Password{Hash: "x", LastChanged: e.now}}
	if err := st.CreateUser(ctx, e.user); err != nil {
		t.Fatal(err)
	}
	return e
}

// signIn appends a log entry ago before now for userID from addr; code 0 is a success.
func (e *riskEnv) signIn(t *testing.T, userID, addr string, ago time.Duration, code int) {
	t.Helper()
	e.n++
	err := e.s.Store.AppendSignIn(context.Background(), e.tenant, signinlog.Entry{ID: fmt.Sprintf("entry-%d", e.n),
		CreatedDateTime: e.now.Add(-ago), UserID: userID, IPAddress: addr, Status: signinlog.Status{ErrorCode: code}})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *riskEnv) score(userID, addr string) (risk.Level, []risk.Reason) {
	return e.s.signInRisk(context.Background(), e.tenant, risk.SignIn{UserID: userID, Address: netip.MustParseAddr(addr)})
}

func signals(rs []risk.Reason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Signal)
	}
	return out
}

const geoTable = `# test table
192.0.2.0/24,NL,52.37,4.90
198.51.100.0/24,US,40.71,-74.01
`

func TestSignInRiskFromHistory(t *testing.T) {
	const user = "22222222-2222-4222-8222-222222222222"
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, e *riskEnv)
		addr    string
		level   risk.Level
		signals []string
	}{
		{name: "fail/unfamiliar-needs-three-sign-ins", setup: func(t *testing.T, e *riskEnv) {
			e.signIn(t, user, "192.0.2.10", 48*time.Hour, 0)
			e.signIn(t, user, "192.0.2.11", 24*time.Hour, 0)
		}, addr: "203.0.113.5", level: risk.None},
		{name: "fail/familiar-network", setup: func(t *testing.T, e *riskEnv) {
			for i := range 3 {
				e.signIn(t, user, "192.0.2.10", time.Duration(i+1)*24*time.Hour, 0)
			}
		}, addr: "192.0.2.200", level: risk.None},
		{name: "fail/failures-and-old-successes-do-not-make-familiar", setup: func(t *testing.T, e *riskEnv) {
			for i := range 3 {
				e.signIn(t, user, "192.0.2.10", time.Duration(i+1)*time.Hour, 50126)
				e.signIn(t, user, "192.0.2.10", 40*24*time.Hour+time.Duration(i)*time.Hour, 0)
			}
		}, addr: "203.0.113.5", level: risk.None},
		{name: "fail/spray-under-threshold", setup: func(t *testing.T, e *riskEnv) {
			for i := range 4 {
				e.signIn(t, fmt.Sprintf("victim-%d", i), "203.0.113.66", time.Minute, 50126)
			}
		}, addr: "203.0.113.66", level: risk.None},
		{name: "fail/spray-old-or-elsewhere", setup: func(t *testing.T, e *riskEnv) {
			for i := range 5 {
				e.signIn(t, fmt.Sprintf("victim-%d", i), "203.0.113.66", time.Hour, 50126)
				e.signIn(t, fmt.Sprintf("other-%d", i), "203.0.113.67", time.Minute, 50126)
			}
		}, addr: "203.0.113.66", level: risk.None},
		{name: "ok/unfamiliar-network", setup: func(t *testing.T, e *riskEnv) {
			for i := range 3 {
				e.signIn(t, user, "192.0.2.10", time.Duration(i+1)*24*time.Hour, 0)
			}
		}, addr: "203.0.113.5", level: risk.Low, signals: []string{risk.SignalUnfamiliar}},
		{name: "ok/spray", setup: func(t *testing.T, e *riskEnv) {
			for i := range 5 {
				e.signIn(t, fmt.Sprintf("victim-%d", i), "203.0.113.66", time.Minute, 50126)
			}
		}, addr: "203.0.113.66", level: risk.Medium, signals: []string{risk.SignalSpray}},
		{name: "ok/spray-at-unknown-accounts", setup: func(t *testing.T, e *riskEnv) {
			for i := range 5 {
				e.n++
				err := e.s.Store.AppendSignIn(context.Background(), e.tenant, signinlog.Entry{ID: fmt.Sprintf("unknown-%d", i),
					CreatedDateTime: e.now.Add(-time.Minute), UserPrincipalName: fmt.Sprintf("nobody%d@contoso.test", i),
					IPAddress: "203.0.113.66", Status: signinlog.Status{ErrorCode: 50034}})
				if err != nil {
					t.Fatal(err)
				}
			}
		}, addr: "203.0.113.66", level: risk.Medium, signals: []string{risk.SignalSpray}},
		{name: "ok/bad-address", addr: "198.18.0.9", level: risk.High, signals: []string{risk.SignalBadAddress}},
		{name: "ok/password-reset", setup: func(t *testing.T, e *riskEnv) {
			_, err := e.s.Store.UpdateUser(context.Background(), e.tenant, user, func(u directory.User) (directory.User, error) {
				u.Password.LastChanged = e.now.Add(-10 * time.Minute)
				return u, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}, addr: "192.0.2.10", level: risk.Low, signals: []string{risk.SignalPasswordReset}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRiskEnv(t)
			e.s.Risk.BadAddresses = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}
			e.now = e.now.Add(3 * time.Hour) // past the creation grace: the initial password is no reset
			if tc.setup != nil {
				tc.setup(t, e)
			}
			level, reasons := e.score(user, tc.addr)
			if level != tc.level || !slices.Equal(signals(reasons), tc.signals) {
				t.Fatalf("got %s %v, want %s %v", level, reasons, tc.level, tc.signals)
			}
		})
	}
}

// Impossible travel needs the admin's table: without it the same history is quiet.
func TestSignInRiskTravel(t *testing.T) {
	geo, err := risk.ParseGeoTable(strings.NewReader(geoTable))
	if err != nil {
		t.Fatal(err)
	}
	const user = "22222222-2222-4222-8222-222222222222"
	for _, tc := range []struct {
		name  string
		geo   *risk.GeoTable
		ago   time.Duration
		level risk.Level
	}{
		{"fail/no-table", nil, time.Hour, risk.None},
		{"fail/slow-enough", geo, 12 * time.Hour, risk.None},
		{"ok/amsterdam-to-new-york-in-an-hour", geo, time.Hour, risk.Medium},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRiskEnv(t)
			e.now = e.now.Add(24 * time.Hour)
			e.s.Risk.Geo = tc.geo
			e.signIn(t, user, "192.0.2.10", tc.ago, 0)
			level, reasons := e.score(user, "198.51.100.20")
			if level != tc.level {
				t.Fatalf("got %s %v, want %s", level, reasons, tc.level)
			}
			if tc.level != risk.None && !slices.Contains(signals(reasons), risk.SignalTravel) {
				t.Fatalf("reasons %v lack %s", reasons, risk.SignalTravel)
			}
		})
	}
}

// The password set when the account was made is not a reset; one set later is, for the
// reset window only.
func TestSignInRiskPasswordResetWindow(t *testing.T) {
	e := newRiskEnv(t)
	const user = "22222222-2222-4222-8222-222222222222"
	if _, reasons := e.score(user, "192.0.2.1"); len(reasons) != 0 {
		t.Fatalf("the initial password counted as a reset: %v", reasons)
	}
	reset := e.now.Add(2 * time.Hour)
	if _, err := e.s.Store.UpdateUser(context.Background(), e.tenant, user, func(u directory.User) (directory.User, error) {
		u.Password.LastChanged = reset
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.now = reset.Add(59 * time.Minute)
	if l, _ := e.score(user, "192.0.2.1"); l != risk.Low {
		t.Fatalf("59 minutes after a reset: %s", l)
	}
	e.now = reset.Add(61 * time.Minute)
	if l, r := e.score(user, "192.0.2.1"); l != risk.None {
		t.Fatalf("61 minutes after a reset: %s %v", l, r)
	}
}

// A store that cannot be read gives a score on what is known and a note saying what was not.
func TestSignInRiskUnreadableHistory(t *testing.T) {
	e := newRiskEnv(t)
	e.s.Risk.BadAddresses = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}
	e.s.Store.Close()
	level, reasons := e.score("22222222-2222-4222-8222-222222222222", "198.18.0.1")
	if level != risk.High || !slices.Contains(signals(reasons), riskSignalHistoryUnavailable) {
		t.Fatalf("got %s %v", level, reasons)
	}
}

func TestLoadRiskTables(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	geo, bad, junk := write("geo.csv", geoTable), write("bad.txt", "198.18.0.0/15\n"), write("junk", "nonsense\n")
	for _, tc := range []struct {
		name     string
		geo, bad string
		ok       bool
	}{
		{"fail/missing-file", filepath.Join(dir, "absent"), "", false},
		{"fail/bad-geo-line", junk, "", false},
		{"fail/bad-address-line", "", junk, false},
		{"ok/none", "", "", true},
		{"ok/both", geo, bad, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tables, err := LoadRiskTables(tc.geo, tc.bad)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if tc.ok && tc.geo != "" && (tables.Geo == nil || len(tables.BadAddresses) != 1) {
				t.Fatalf("tables %+v", tables)
			}
		})
	}
}

// Retention removes what is older than the retention, in every tenant, and nothing newer.
func TestPurgeSignIns(t *testing.T) {
	e := newRiskEnv(t)
	const user = "22222222-2222-4222-8222-222222222222"
	e.signIn(t, user, "192.0.2.1", 31*24*time.Hour, 0)
	e.signIn(t, user, "192.0.2.1", 29*24*time.Hour, 0)
	n, err := e.s.PurgeSignIns(context.Background(), 30*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want 1", n, err)
	}
	left, _ := e.s.Store.ListSignIns(context.Background(), e.tenant, signinlog.Filter{}, 0)
	if len(left) != 1 {
		t.Fatalf("left %v", left)
	}
}

// The hourly sweep also removes expired browser sessions.
func TestPurgeExpired(t *testing.T) {
	e := newRiskEnv(t)
	ctx := context.Background()
	if err := e.s.Store.CreateSession(ctx, authn.Session{ID: "s1", TenantID: e.tenant, UserID: e.user.ID, Expires: e.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.PurgeExpired(ctx); err != nil || n != 0 {
		t.Fatalf("a live session: purged %d, %v", n, err)
	}
	e.now = e.now.Add(2 * time.Hour)
	if n, err := e.s.PurgeExpired(ctx); err != nil || n != 1 {
		t.Fatalf("an expired session: purged %d, %v", n, err)
	}
}
