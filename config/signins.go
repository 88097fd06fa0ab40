package config

import (
	"fmt"
	"os"
	"time"
)

// MaxSignInRetentionDays is two years: enough for any audit, and a bound on what the log's
// table can grow to.
const MaxSignInRetentionDays = 730

// SignInRetention is SignInRetentionDays as a duration.
func (c Config) SignInRetention() time.Duration {
	return time.Duration(c.SignInRetentionDays) * 24 * time.Hour
}

// checkSignIns checks the sign-in log's retention and that the risk tables, when named, are
// files. Their contents are parsed when the server starts, which names the bad line.
func (c Config) checkSignIns() []error {
	var out []error
	if c.SignInRetentionDays < 1 || c.SignInRetentionDays > MaxSignInRetentionDays {
		out = append(out, fmt.Errorf("--sign-in-retention-days %d must be from 1 to %d", c.SignInRetentionDays, MaxSignInRetentionDays))
	}
	for _, f := range []struct{ flag, path string }{{"--risk-geo-table", c.RiskGeoTable}, {"--risk-bad-addresses", c.RiskBadAddresses}} {
		if f.path == "" {
			continue
		}
		if fi, err := os.Stat(f.path); err != nil || fi.IsDir() {
			out = append(out, fmt.Errorf("%s %s is not a readable file", f.flag, f.path))
		}
	}
	return out
}
