package config

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything `latch serve` is told. The zero value is not usable: start from
// Default, overlay a file, the environment and flags, then call Complete and Validate.
type Config struct {
	// Data is the directory that holds the SQLite database, the local CA and bootstrap.json.
	Data string `json:"data"`
	// Addr is the host:port to listen on.
	Addr string `json:"addr"`
	// URL is the public base URL clients use; empty means https://localhost:<port of Addr>.
	URL string `json:"url"`
	// Database is empty for SQLite in Data/latch.db, or a postgres:// URL. It usually holds a
	// password, so prefer LATCH_DATABASE to a flag (flags show up in process listings).
	Database string `json:"database"`
	// Domain is the first tenant's default domain; UPNs end in it.
	Domain string `json:"domain"`
	// TLSCert and TLSKey are PEM files to serve with instead of the local CA (both or neither).
	TLSCert string `json:"tlsCert"`
	TLSKey  string `json:"tlsKey"`
	// SigningAlg is the first tenant's token-signing algorithm: ES256 or RS256.
	SigningAlg string `json:"signingAlg"`
	// LogFormat is json or text; LogLevel is debug, info, warn or error.
	LogFormat string `json:"logFormat"`
	LogLevel  string `json:"logLevel"`
	// InsecureHTTP serves plain HTTP. Tokens and secrets would cross the network in the clear,
	// so it is refused unless Addr is a loopback address.
	InsecureHTTP bool `json:"insecureHTTP"`
	// ShutdownTimeout bounds how long in-flight requests may run after SIGTERM.
	ShutdownTimeout Duration `json:"shutdownTimeout"`
	// SignInRetentionDays is how many days sign-in log entries are kept (1 to 730).
	SignInRetentionDays int `json:"signInRetentionDays"`
	// RiskGeoTable is an optional file mapping address ranges to places, one
	// "cidr,country,latitude,longitude" a line; it turns on impossible-travel risk.
	RiskGeoTable string `json:"riskGeoTable"`
	// RiskBadAddresses is an optional file of known-bad address ranges, one CIDR a line;
	// sign-ins from them are high risk.
	RiskBadAddresses string `json:"riskBadAddresses"`
}

// Defaults that Default fills in.
const (
	DefaultAddr            = "127.0.0.1:8443"
	DefaultDomain          = "contoso.test"
	DefaultSigningAlg      = "ES256"
	DefaultShutdownTimeout = 30 * time.Second
	DefaultSignInRetention = 30 // days, as Entra keeps sign-ins in its free tier
)

// Default returns the configuration used where nothing else is said. Data has no default: an
// identity system's state should not land in a directory nobody chose.
func Default() Config {
	return Config{
		Addr:            DefaultAddr,
		Domain:          DefaultDomain,
		SigningAlg:      DefaultSigningAlg,
		LogFormat:       "json",
		LogLevel:        "info",
		ShutdownTimeout: Duration(DefaultShutdownTimeout),

		SignInRetentionDays: DefaultSignInRetention,
	}
}

// Complete fills the settings derived from others: URL from Addr. With port 0 (pick any
// free port) the URL stays empty and the caller derives it with DefaultURL once it listens.
func (c *Config) Complete() {
	c.URL = strings.TrimSuffix(strings.TrimSpace(c.URL), "/")
	c.Domain = strings.ToLower(strings.TrimSpace(c.Domain))
	if c.URL != "" {
		return
	}
	if _, port, err := net.SplitHostPort(c.Addr); err == nil && port != "0" && port != "" {
		c.URL = DefaultURL(port, c.InsecureHTTP)
	}
}

// DefaultURL is the public URL for a server on this machine listening on port.
func DefaultURL(port string, insecureHTTP bool) string {
	scheme := "https"
	if insecureHTTP {
		scheme = "http"
	}
	return scheme + "://localhost:" + port
}

// SQLitePath is the database file used when Database is empty.
func (c Config) SQLitePath() string { return filepath.Join(c.Data, "latch.db") }

// IsPostgres reports whether Database names a PostgreSQL server.
func (c Config) IsPostgres() bool {
	scheme, _, ok := strings.Cut(c.Database, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// TLSDir is where the local CA and the server certificate it issues are kept.
func (c Config) TLSDir() string { return filepath.Join(c.Data, "tls") }

// URLHost is the host name (or IP address) of the public URL, "" when it does not parse.
func (c Config) URLHost() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Duration is a time.Duration written in JSON as Go's duration text, e.g. "30s".
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts "30s"-style text only; a bare number would be ambiguous (seconds or
// nanoseconds?), so it is an error.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be text such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\"", s)
	}
	*d = Duration(v)
	return nil
}

// String is the duration's text.
func (d Duration) String() string { return time.Duration(d).String() }
