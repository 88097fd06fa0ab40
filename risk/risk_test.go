package risk

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/errs"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const geoCSV = `# cidr,country,lat,lon
198.51.100.0/24,NL,52.37,4.90
203.0.113.0/24,NL,51.92,4.48
192.0.2.0/24,AU,-33.87,151.21
2001:db8::/32,US,40.71,-74.01
`

func testConfig(t *testing.T) Config {
	t.Helper()
	g, err := ParseGeoTable(strings.NewReader(geoCSV))
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Now = func() time.Time { return t0 } // the fake clock
	c.Geo = g
	c.BadAddresses = []netip.Prefix{netip.MustParsePrefix("100.64.66.0/24")}
	return c
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func past(ago time.Duration, a string) Past {
	return Past{Time: t0.Add(-ago), UserID: "alice", Address: addr(a)}
}

// familiar is alice's history: three sign-ins from her home network in Amsterdam.
var familiar = []Past{past(48*time.Hour, "198.51.100.7"), past(24*time.Hour, "198.51.100.9"), past(3*time.Hour, "198.51.100.7")}

func failures(n int, a string, ago time.Duration) []Past {
	var out []Past
	for i := range n {
		out = append(out, Past{Time: t0.Add(-ago), UserID: string(rune('a' + i)), Address: addr(a)})
	}
	return out
}

type riskCase struct {
	name    string
	history SignInHistory
	address string
	edit    func(*Config)
	level   Level
	signals []string
}

func runRisk(t *testing.T, cases []riskCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			if c.edit != nil {
				c.edit(&cfg)
			}
			level, reasons := Score(c.history, SignIn{UserID: "alice", Address: addr(c.address)}, cfg)
			var got []string
			for _, r := range reasons {
				got = append(got, r.Signal)
				if r.Detail == "" {
					t.Errorf("reason %s has no detail", r.Signal)
				}
			}
			if level != c.level || !slices.Equal(got, c.signals) {
				t.Fatalf("got %s %v, want %s %v (%+v)", level, got, c.level, c.signals, reasons)
			}
		})
	}
}

func TestUnfamiliar(t *testing.T) {
	runRisk(t, []riskCase{
		{name: "fail/new-network-same-country", history: SignInHistory{Successes: familiar}, address: "203.0.113.5",
			level: Low, signals: []string{SignalUnfamiliar}},
		{name: "fail/new-network-new-country", history: SignInHistory{Successes: familiar}, address: "2001:db8::1",
			edit: func(c *Config) { c.MaxSpeedKmh = 0 }, level: Medium, signals: []string{SignalUnfamiliar}},
		{name: "fail/familiar-only-long-ago", history: SignInHistory{Successes: append(slices.Clone(familiar[:2]), past(40*24*time.Hour, "203.0.113.5"), past(time.Hour, "198.51.100.7"))},
			address: "203.0.113.5", level: Low, signals: []string{SignalUnfamiliar}},
		{name: "ok/same-network-other-address", history: SignInHistory{Successes: familiar}, address: "198.51.100.200", level: None},
		{name: "ok/ipv4-mapped", history: SignInHistory{Successes: familiar}, address: "::ffff:198.51.100.1", level: None},
		{name: "ok/too-little-history", history: SignInHistory{Successes: familiar[:2]}, address: "203.0.113.5", level: None},
	})
}

func TestImpossibleTravel(t *testing.T) {
	runRisk(t, []riskCase{
		{name: "fail/amsterdam-to-sydney-in-an-hour", history: SignInHistory{Successes: append(slices.Clone(familiar), past(time.Hour, "192.0.2.1"))},
			address: "198.51.100.7", level: Medium, signals: []string{SignalTravel}},
		{name: "fail/new-york-to-sydney-same-minute", history: SignInHistory{Successes: []Past{past(0, "2001:db8::5")}},
			address: "192.0.2.9", level: Medium, signals: []string{SignalTravel}},
		{name: "ok/sydney-a-day-ago", history: SignInHistory{Successes: append(slices.Clone(familiar[:2]), past(20*time.Hour, "192.0.2.1"), past(25*time.Hour, "198.51.100.7"))},
			address: "198.51.100.7", level: None},
		{name: "ok/short-hop", history: SignInHistory{Successes: append(slices.Clone(familiar), past(time.Minute, "203.0.113.1"))},
			address: "198.51.100.7", level: None},
		{name: "ok/unknown-place", history: SignInHistory{Successes: append(slices.Clone(familiar), past(time.Minute, "192.0.2.1"))},
			address: "198.51.100.7", edit: func(c *Config) { c.Geo = nil }, level: None},
	})
}

func TestPasswordSpray(t *testing.T) {
	runRisk(t, []riskCase{
		{name: "fail/five-accounts", history: SignInHistory{Successes: familiar, Failures: failures(5, "198.51.100.7", time.Minute)},
			address: "198.51.100.7", level: Medium, signals: []string{SignalSpray}},
		{name: "fail/ten-accounts", history: SignInHistory{Successes: familiar, Failures: failures(10, "::ffff:198.51.100.7", time.Minute)},
			address: "198.51.100.7", level: High, signals: []string{SignalSpray}},
		{name: "ok/one-account-many-times", history: SignInHistory{Successes: familiar, Failures: append(failures(1, "198.51.100.7", time.Minute), failures(1, "198.51.100.7", 2*time.Minute)...)},
			address: "198.51.100.7", level: None},
		{name: "ok/old-failures", history: SignInHistory{Successes: familiar, Failures: failures(8, "198.51.100.7", time.Hour)},
			address: "198.51.100.7", level: None},
		{name: "ok/other-address", history: SignInHistory{Successes: familiar, Failures: failures(8, "198.51.100.8", time.Minute)},
			address: "198.51.100.7", level: None},
	})
}

func TestBadAddressAndReset(t *testing.T) {
	runRisk(t, []riskCase{
		{name: "fail/known-bad", history: SignInHistory{}, address: "100.64.66.3", level: High, signals: []string{SignalBadAddress}},
		{name: "fail/known-bad-mapped", history: SignInHistory{}, address: "::ffff:100.64.66.3", level: High, signals: []string{SignalBadAddress}},
		{name: "fail/reset-minutes-ago", history: SignInHistory{Successes: familiar, PasswordReset: t0.Add(-10 * time.Minute)},
			address: "198.51.100.7", level: Low, signals: []string{SignalPasswordReset}},
		{name: "fail/reset-just-now", history: SignInHistory{PasswordReset: t0}, address: "198.51.100.7", level: Low, signals: []string{SignalPasswordReset}},
		{name: "ok/reset-yesterday", history: SignInHistory{Successes: familiar, PasswordReset: t0.Add(-24 * time.Hour)}, address: "198.51.100.7", level: None},
		{name: "ok/next-door-to-bad", history: SignInHistory{}, address: "100.64.67.3", level: None},
	})
}

func TestCombination(t *testing.T) {
	runRisk(t, []riskCase{
		{name: "fail/two-mediums-make-high", history: SignInHistory{Successes: append(slices.Clone(familiar), past(time.Hour, "192.0.2.1")),
			Failures: failures(5, "2001:db8::1", time.Minute)}, address: "2001:db8::1",
			level: High, signals: []string{SignalSpray, SignalTravel, SignalUnfamiliar}},
		{name: "fail/two-lows-make-medium", history: SignInHistory{Successes: familiar, PasswordReset: t0.Add(-time.Minute)}, address: "203.0.113.5",
			level: Medium, signals: []string{SignalUnfamiliar, SignalPasswordReset}},
		{name: "fail/high-wins", history: SignInHistory{Successes: familiar, PasswordReset: t0.Add(-time.Minute)}, address: "100.64.66.1",
			level: High, signals: []string{SignalBadAddress, SignalUnfamiliar, SignalPasswordReset}},
		{name: "ok/nothing", history: SignInHistory{Successes: familiar}, address: "198.51.100.7", level: None},
	})
}

func TestParseGeoTable(t *testing.T) {
	for name, in := range map[string]string{
		"fail/overlap":       "10.0.0.0/8,NL,0,0\n10.1.0.0/16,BE,0,0\n",
		"fail/bad-cidr":      "10.0.0.300/8,NL,0,0\n",
		"fail/bad-country":   "10.0.0.0/8,Netherlands,0,0\n",
		"fail/bad-latitude":  "10.0.0.0/8,NL,91,0\n",
		"fail/too-few-field": "10.0.0.0/8,NL\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseGeoTable(strings.NewReader(in)); !errs.Is(err, errs.Invalid) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	g, err := ParseGeoTable(strings.NewReader(geoCSV))
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]string{"198.51.100.0": "NL", "198.51.100.255": "NL", "192.0.2.77": "AU", "2001:db8:1::1": "US",
		"198.51.101.0": "", "0.0.0.0": "", "::1": "", "255.255.255.255": ""} {
		if got, _ := g.Country(addr(a)); got != want {
			t.Errorf("Country(%s) = %q, want %q", a, got, want)
		}
	}
	if d := distanceKm(Place{Lat: 52.37, Lon: 4.90}, Place{Lat: -33.87, Lon: 151.21}); d < 16500 || d > 16700 {
		t.Errorf("Amsterdam–Sydney %0.f km", d)
	}
}

// A GeoTable is what the caller hands Conditional Access to resolve a sign-in's country.
var _ conditional.CountryTable = (*GeoTable)(nil)
