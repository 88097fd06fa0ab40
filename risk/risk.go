package risk

import (
	"net/netip"
	"slices"
	"time"
)

// Level is a risk level, named as Graph's riskLevel.
type Level string

// The levels, in increasing order.
const (
	None   Level = "none"
	Low    Level = "low"
	Medium Level = "medium"
	High   Level = "high"
)

var order = []Level{None, Low, Medium, High}

func (l Level) rank() int { return slices.Index(order, l) }

// The signals' names.
const (
	SignalUnfamiliar    = "unfamiliarFeatures"
	SignalTravel        = "impossibleTravel"
	SignalSpray         = "passwordSpray"
	SignalBadAddress    = "maliciousIPAddress"
	SignalPasswordReset = "recentPasswordReset"
)

// Reason is one signal that fired: its name, the level it alone would give, and a sentence
// for the sign-in log.
type Reason struct {
	Signal string `json:"signal"`
	Level  Level  `json:"level"`
	Detail string `json:"detail"`
}

// SignIn is the sign-in being scored.
type SignIn struct {
	UserID  string
	Address netip.Addr
}

// Past is an earlier sign-in.
type Past struct {
	Time    time.Time
	UserID  string
	Address netip.Addr
}

// SignInHistory is what the caller looks up before scoring.
type SignInHistory struct {
	// Successes are this user's successful sign-ins of the last Config.FamiliarWindow (older
	// ones are ignored), in any order.
	Successes []Past
	// Failures are failed sign-ins from this sign-in's address, for any account, of the last
	// Config.SprayWindow (older ones are ignored).
	Failures []Past
	// PasswordReset is when the user's password was last reset; zero if never.
	PasswordReset time.Time
}

// Config holds the thresholds and tables. DefaultConfig gives sensible values.
type Config struct {
	Now            func() time.Time // the clock; nil means time.Now
	Geo            *GeoTable        // address → place; nil turns impossible travel off and country novelty off
	BadAddresses   []netip.Prefix   // the known-bad list
	FamiliarWindow time.Duration    // how far back past sign-ins make a network familiar
	MinHistory     int              // successes needed before unfamiliarity counts
	MaxSpeedKmh    float64          // faster travel is impossible
	MinTravelKm    float64          // shorter distances are within the table's imprecision
	SprayWindow    time.Duration    // how far back failures count
	SprayAccounts  int              // distinct failed accounts from one address that make a spray
	ResetWindow    time.Duration    // how long after a password reset a sign-in is risky
}

// DefaultConfig: 30 days of history, 3 sign-ins before novelty counts, 900 km/h over at
// least 500 km, 5 accounts in 10 minutes, 1 hour after a reset.
func DefaultConfig() Config {
	return Config{FamiliarWindow: 30 * 24 * time.Hour, MinHistory: 3, MaxSpeedKmh: 900, MinTravelKm: 500,
		SprayWindow: 10 * time.Minute, SprayAccounts: 5, ResetWindow: time.Hour}
}

func (c Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// Score rates s from history under cfg and returns the level and the reasons, highest first.
// It never fails: a signal that lacks its inputs (no geo table, too little history) stays
// quiet rather than guessing.
func Score(history SignInHistory, s SignIn, cfg Config) (Level, []Reason) {
	now := cfg.now()
	var reasons []Reason
	for _, signal := range []func(SignInHistory, SignIn, Config, time.Time) (Reason, bool){
		badAddress, spray, travel, unfamiliar, recentReset,
	} {
		if r, ok := signal(history, s, cfg, now); ok {
			reasons = append(reasons, r)
		}
	}
	slices.SortStableFunc(reasons, func(a, b Reason) int { return b.Level.rank() - a.Level.rank() })
	return combine(reasons), reasons
}

// combine applies the rule of the package comment.
func combine(reasons []Reason) Level {
	level, atLeastMedium, lows := None, 0, 0
	for _, r := range reasons {
		if r.Level.rank() > level.rank() {
			level = r.Level
		}
		if r.Level.rank() >= Medium.rank() {
			atLeastMedium++
		} else if r.Level == Low {
			lows++
		}
	}
	switch {
	case atLeastMedium >= 2:
		return High
	case lows >= 2 && level == Low:
		return Medium
	}
	return level
}

// within keeps the entries of past no older than window before now and not in the future.
func within(past []Past, now time.Time, window time.Duration) []Past {
	var out []Past
	for _, p := range past {
		if !p.Time.After(now) && now.Sub(p.Time) <= window {
			out = append(out, p)
		}
	}
	return out
}
