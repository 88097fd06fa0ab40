package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// valid returns a Config that passes Validate, for tests to break one field at a time.
func valid(t *testing.T) Config {
	t.Helper()
	c := Default()
	c.Data = t.TempDir()
	c.Complete()
	return c
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	aFile := writeFile(t, "f.pem", "x")
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; "" means valid
	}{
		{"fail/data-missing", func(c *Config) { c.Data = "" }, "--data is required"},
		{"fail/data-is-file", func(c *Config) { c.Data = aFile }, "is a file"},
		{"fail/addr-no-port", func(c *Config) { c.Addr = "127.0.0.1" }, "not host:port"},
		{"fail/addr-port-range", func(c *Config) { c.Addr = "127.0.0.1:70000" }, "0 to 65535"},
		{"fail/addr-port-name", func(c *Config) { c.Addr = "127.0.0.1:https" }, "0 to 65535"},
		{"fail/url-relative", func(c *Config) { c.URL = "latch.example" }, "not an absolute URL"},
		{"fail/url-http", func(c *Config) { c.URL = "http://latch.example" }, "must start with https://"},
		{"fail/url-path", func(c *Config) { c.URL = "https://latch.example/sub" }, "bare origin"},
		{"fail/url-user", func(c *Config) { c.URL = "https://u:p@latch.example" }, "bare origin"},
		{"fail/database-mysql", func(c *Config) { c.Database = "mysql://root:hunter2@db/latch" }, "postgres:// URL"},
		{"fail/database-no-host", func(c *Config) { c.Database = "postgres://" }, "does not name a PostgreSQL host"},
		{"fail/domain-single-label", func(c *Config) { c.Domain = "contoso" }, "--domain"},
		{"fail/domain-underscore", func(c *Config) { c.Domain = "con_toso.test" }, "--domain"},
		{"fail/tls-cert-alone", func(c *Config) { c.TLSCert = aFile }, "give both or neither"},
		{"fail/tls-key-alone", func(c *Config) { c.TLSKey = aFile }, "give both or neither"},
		{"fail/tls-missing-file", func(c *Config) { c.TLSCert, c.TLSKey = aFile, aFile+".none" }, "--tls-key"},
		{"fail/tls-and-insecure", func(c *Config) { c.TLSCert, c.TLSKey, c.InsecureHTTP = aFile, aFile, true }, "contradict"},
		{"fail/signing-hs256", func(c *Config) { c.SigningAlg = "HS256" }, "--signing-alg"},
		{"fail/signing-none", func(c *Config) { c.SigningAlg = "none" }, "--signing-alg"},
		{"fail/log-format", func(c *Config) { c.LogFormat = "xml" }, "--log-format"},
		{"fail/log-level", func(c *Config) { c.LogLevel = "loud" }, "--log-level"},
		{"fail/insecure-all-interfaces", func(c *Config) { c.InsecureHTTP, c.Addr = true, ":8443" }, "loopback"},
		{"fail/insecure-public-ip", func(c *Config) { c.InsecureHTTP, c.Addr = true, "10.0.0.5:8443" }, "loopback"},
		{"fail/shutdown-zero", func(c *Config) { c.ShutdownTimeout = 0 }, "--shutdown-timeout"},
		{"fail/shutdown-huge", func(c *Config) { c.ShutdownTimeout = Duration(time.Hour) }, "--shutdown-timeout"},
		{"fail/retention-zero", func(c *Config) { c.SignInRetentionDays = 0 }, "--sign-in-retention-days"},
		{"fail/retention-over-two-years", func(c *Config) { c.SignInRetentionDays = 731 }, "--sign-in-retention-days"},
		{"fail/geo-table-missing", func(c *Config) { c.RiskGeoTable = aFile + ".none" }, "--risk-geo-table"},
		{"fail/bad-addresses-directory", func(c *Config) { c.RiskBadAddresses = c.Data }, "--risk-bad-addresses"},
		{"ok/defaults", func(c *Config) {}, ""},
		{"ok/retention-and-risk-files", func(c *Config) { c.SignInRetentionDays, c.RiskGeoTable, c.RiskBadAddresses = 730, aFile, aFile }, ""},
		{"ok/postgres", func(c *Config) { c.Database = "postgres://latch:pw@db.example:5432/latch?sslmode=verify-full" }, ""},
		{"ok/postgres-socket", func(c *Config) { c.Database = "postgresql://latch@/latch?host=/run/postgresql" }, ""},
		{"ok/tls-files", func(c *Config) { c.TLSCert, c.TLSKey = aFile, aFile }, ""},
		{"ok/insecure-loopback", func(c *Config) { c.InsecureHTTP, c.Addr, c.URL = true, "127.0.0.1:8080", "http://localhost:8080" }, ""},
		{"ok/insecure-ipv6-loopback", func(c *Config) { c.InsecureHTTP, c.Addr, c.URL = true, "[::1]:8080", "" }, ""},
		{"ok/rs256-text-debug", func(c *Config) { c.SigningAlg, c.LogFormat, c.LogLevel = "RS256", "text", "debug" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid(t)
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{Addr: "nope", Domain: "x", SigningAlg: "HS256", LogFormat: "xml", LogLevel: "info"}
	err := c.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Validate() = %v, want joined errors", err)
	}
	if n := len(joined.Unwrap()); n < 6 {
		t.Fatalf("Validate() found %d problems, want at least 6 (data, addr, domain, alg, format, shutdown): %v", n, err)
	}
}

func TestValidateDoesNotEchoDatabasePassword(t *testing.T) {
	c := valid(t)
	c.Database = "mysql://root:hunter2@db/latch"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Validate() = %v, want an error without the password", err)
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"ok/from-port", Config{Addr: "0.0.0.0:9443"}, "https://localhost:9443"},
		{"ok/insecure", Config{Addr: "127.0.0.1:8080", InsecureHTTP: true}, "http://localhost:8080"},
		{"ok/given-trailing-slash", Config{Addr: ":1", URL: "https://id.example/"}, "https://id.example"},
		{"ok/port-zero-left-empty", Config{Addr: "127.0.0.1:0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Complete()
			if tt.c.URL != tt.want {
				t.Fatalf("URL = %q, want %q", tt.c.URL, tt.want)
			}
		})
	}
}

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f := AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Load(func(k string) string { return env[k] })
}

func TestLoadPrecedence(t *testing.T) {
	data := t.TempDir()
	file := writeFile(t, "latch.json", `{"data":"`+data+`","addr":"127.0.0.1:9000","domain":"fabrikam.test","logLevel":"debug","shutdownTimeout":"5s"}`)
	cfg, err := load(t, []string{"--config", file, "--addr", "127.0.0.1:9100"},
		map[string]string{"LATCH_DOMAIN": "wingtip.test", "LATCH_DATABASE": "postgres://u:p@db/latch"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Data: data, Addr: "127.0.0.1:9100", URL: "https://localhost:9100", Database: "postgres://u:p@db/latch",
		Domain: "wingtip.test", SigningAlg: "ES256", LogFormat: "json", LogLevel: "debug", ShutdownTimeout: Duration(5 * time.Second),
		SignInRetentionDays: DefaultSignInRetention}
	if cfg != want {
		t.Fatalf("Load() =\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestLoadRefusals(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"fail/unknown-field", `{"data":"/tmp","adress":"127.0.0.1:1"}`, nil, `unknown field "adress"`},
		{"fail/two-values", `{"data":"/tmp"} {}`, nil, "more than one JSON value"},
		{"fail/wrong-type", `{"data":"/tmp","insecureHTTP":"yes"}`, nil, "insecureHTTP"},
		{"fail/numeric-duration", `{"data":"/tmp","shutdownTimeout":30}`, nil, "duration"},
		{"fail/env-bool", `{"data":"/tmp"}`, map[string]string{"LATCH_INSECURE_HTTP": "maybe"}, "LATCH_INSECURE_HTTP"},
		{"fail/env-duration", `{"data":"/tmp"}`, map[string]string{"LATCH_SHUTDOWN_TIMEOUT": "soon"}, "LATCH_SHUTDOWN_TIMEOUT"},
		{"fail/env-int", `{"data":"/tmp"}`, map[string]string{"LATCH_SIGN_IN_RETENTION_DAYS": "a month"}, "LATCH_SIGN_IN_RETENTION_DAYS"},
		{"fail/retention-text", `{"data":"/tmp","signInRetentionDays":"30"}`, nil, "signInRetentionDays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"LATCH_CONFIG": writeFile(t, "c.json", tt.file)}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := load(t, nil, env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadMissingConfigFile(t *testing.T) {
	_, err := load(t, []string{"--config", filepath.Join(t.TempDir(), "absent.json"), "--data", t.TempDir()}, nil)
	if err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("Load() = %v, want a --config error", err)
	}
}

func TestDecodeRefusesOversizedFile(t *testing.T) {
	var c Config
	big := `{"data":"` + strings.Repeat("a", maxFileSize) + `"}`
	if err := Decode(strings.NewReader(big), "big.json", &c); err == nil {
		t.Fatal("Decode() accepted a file over the size cap")
	}
}

func TestLoadRetentionFromFlagAndEnv(t *testing.T) {
	cfg, err := load(t, []string{"--data", t.TempDir(), "--sign-in-retention-days", "90"}, map[string]string{"LATCH_SIGN_IN_RETENTION_DAYS": "7"})
	if err != nil || cfg.SignInRetentionDays != 90 {
		t.Fatalf("flag: %d, %v; want 90 over the environment's 7", cfg.SignInRetentionDays, err)
	}
	cfg, err = load(t, []string{"--data", t.TempDir()}, map[string]string{"LATCH_SIGN_IN_RETENTION_DAYS": "7"})
	if err != nil || cfg.SignInRetention() != 7*24*time.Hour {
		t.Fatalf("environment: %v, %v", cfg.SignInRetention(), err)
	}
}
