package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// maxFileSize caps a configuration file; anything larger is a mistake, not a configuration.
const maxFileSize = 1 << 20

// setting ties one Config field to its flag and its LATCH_* environment variable.
type setting struct {
	flag  string
	usage string
	field func(*Config) any // *string, *bool, *int or *Duration
}

var settings = []setting{
	{"data", "directory for the database, certificates and bootstrap.json (required)", func(c *Config) any { return &c.Data }},
	{"addr", "host:port to listen on", func(c *Config) any { return &c.Addr }},
	{"url", "public base URL (default https://localhost:<port>)", func(c *Config) any { return &c.URL }},
	{"database", "postgres:// URL; empty for SQLite in the data directory (prefer LATCH_DATABASE)", func(c *Config) any { return &c.Database }},
	{"domain", "the first tenant's domain", func(c *Config) any { return &c.Domain }},
	{"tls-cert", "PEM certificate to serve instead of one from the local CA", func(c *Config) any { return &c.TLSCert }},
	{"tls-key", "PEM private key for --tls-cert", func(c *Config) any { return &c.TLSKey }},
	{"signing-alg", "token-signing algorithm of the first tenant: ES256 or RS256", func(c *Config) any { return &c.SigningAlg }},
	{"log-format", "json or text", func(c *Config) any { return &c.LogFormat }},
	{"log-level", "debug, info, warn or error", func(c *Config) any { return &c.LogLevel }},
	{"insecure-http", "serve plain HTTP (loopback addresses only)", func(c *Config) any { return &c.InsecureHTTP }},
	{"shutdown-timeout", "how long in-flight requests may finish after SIGTERM", func(c *Config) any { return &c.ShutdownTimeout }},
	{"sign-in-retention-days", "days the sign-in log keeps entries (1 to 730)", func(c *Config) any { return &c.SignInRetentionDays }},
	{"risk-geo-table", "file of address ranges and places for impossible-travel risk (cidr,country,lat,lon a line)", func(c *Config) any { return &c.RiskGeoTable }},
	{"risk-bad-addresses", "file of known-bad address ranges, one CIDR a line", func(c *Config) any { return &c.RiskBadAddresses }},
}

// envName is the LATCH_* variable of a flag, e.g. tls-cert → LATCH_TLS_CERT.
func envName(flag string) string {
	return "LATCH_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Flags are the serve command's flags, registered on a FlagSet by AddFlags.
type Flags struct {
	fs   *pflag.FlagSet
	file string
	v    Config
}

// AddFlags registers --config and one flag per setting on fs.
func AddFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{fs: fs, v: Default()}
	fs.StringVar(&f.file, "config", "", "JSON configuration file (unknown fields are refused); also LATCH_CONFIG")
	for _, s := range settings {
		usage := s.usage + " (env " + envName(s.flag) + ")"
		switch p := s.field(&f.v).(type) {
		case *string:
			fs.StringVar(p, s.flag, *p, usage)
		case *bool:
			fs.BoolVar(p, s.flag, *p, usage)
		case *int:
			fs.IntVar(p, s.flag, *p, usage)
		case *Duration:
			fs.DurationVar((*time.Duration)(p), s.flag, time.Duration(*p), usage)
		}
	}
	return f
}

// Load builds the Config: defaults, then the file named by --config or LATCH_CONFIG, then
// LATCH_* variables from getenv, then the flags given on the command line. It returns the
// completed Config and every problem found (file, environment and Validate), joined; the
// Config is only safe to use when the error is nil.
func (f *Flags) Load(getenv func(string) string) (Config, error) {
	cfg := Default()
	var problems []error
	path := f.file
	if path == "" {
		path = getenv("LATCH_CONFIG")
	}
	if path != "" {
		if err := readFile(path, &cfg); err != nil {
			problems = append(problems, err)
		}
	}
	problems = append(problems, applyEnv(&cfg, getenv)...)
	for _, s := range settings {
		if f.fs.Changed(s.flag) {
			copyField(s.field(&cfg), s.field(&f.v))
		}
	}
	cfg.Complete()
	if len(problems) == 0 {
		problems = append(problems, cfg.Validate())
	}
	return cfg, errors.Join(problems...)
}

// readFile overlays the JSON file at path onto cfg. Fields the file leaves out keep their
// values; fields Config does not have are an error, so a misspelt setting is never ignored.
func readFile(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	return Decode(bytes.NewReader(b), path, cfg)
}

// Decode overlays the JSON configuration read from r onto cfg. name labels errors. It fails for
// unknown fields, for more than one JSON value, for input over 1 MiB and for ill-typed values.
func Decode(r io.Reader, name string, cfg *Config) error {
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxFileSize {
		return fmt.Errorf("%s: larger than %d bytes", name, maxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: more than one JSON value", name)
	}
	return nil
}

// applyEnv overlays LATCH_* variables that are set and not empty.
func applyEnv(cfg *Config, getenv func(string) string) []error {
	var problems []error
	for _, s := range settings {
		v := getenv(envName(s.flag))
		if v == "" {
			continue
		}
		if err := setFromText(s.field(cfg), v); err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", envName(s.flag), err))
		}
	}
	return problems
}

func setFromText(field any, v string) error {
	switch p := field.(type) {
	case *string:
		*p = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*p = n
	case *Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s", v)
		}
		*p = Duration(d)
	}
	return nil
}

func copyField(dst, src any) {
	switch d := dst.(type) {
	case *string:
		*d = *src.(*string)
	case *bool:
		*d = *src.(*bool)
	case *int:
		*d = *src.(*int)
	case *Duration:
		*d = *src.(*Duration)
	}
}
