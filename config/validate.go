package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/latchsh/latch/directory"
)

// maxShutdownTimeout keeps a typo ("30m" for "30s") from making a restart hang for long.
const maxShutdownTimeout = 10 * time.Minute

// Validate checks every setting and returns all problems joined (errors.Join), each a sentence
// naming the setting as the operator wrote it, or nil. Call Complete first. It reads the file
// system only to check that named files and the data directory are usable.
func (c Config) Validate() error {
	var problems []error
	for _, check := range []func() []error{
		c.checkData, c.checkAddr, c.checkURL, c.checkDatabase, c.checkDomain,
		c.checkTLS, c.checkSigning, c.checkLogging, c.checkInsecureHTTP, c.checkShutdown, c.checkSignIns,
	} {
		problems = append(problems, check()...)
	}
	return errors.Join(problems...)
}

func problem(format string, a ...any) []error { return []error{fmt.Errorf(format, a...)} }

func (c Config) checkData() []error {
	if strings.TrimSpace(c.Data) == "" {
		return problem("--data is required: the directory where Latch keeps its database, certificates and bootstrap.json")
	}
	if fi, err := os.Stat(c.Data); err == nil && !fi.IsDir() {
		return problem("--data %s is a file, not a directory", c.Data)
	}
	return nil
}

func (c Config) checkAddr() []error {
	_, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return problem("--addr %q is not host:port (for example 127.0.0.1:8443 or :8443)", c.Addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return problem("--addr %q: the port must be a number from 0 to 65535", c.Addr)
	}
	return nil
}

func (c Config) checkURL() []error {
	if c.URL == "" {
		return nil // derived from the port once listening
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return problem("--url %q is not an absolute URL such as https://latch.example.com", c.URL)
	}
	var out []error
	if u.Scheme != "https" && !(u.Scheme == "http" && c.InsecureHTTP) {
		out = append(out, fmt.Errorf("--url %q must start with https:// (http:// only with --insecure-http)", c.URL))
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		out = append(out, fmt.Errorf("--url %q must be a bare origin: no user, path, query or fragment", c.URL))
	}
	return out
}

func (c Config) checkDatabase() []error {
	if c.Database == "" {
		return nil
	}
	if !c.IsPostgres() {
		return problem("--database must be empty (SQLite in the data directory) or a postgres:// URL; got %q", redact(c.Database))
	}
	u, err := url.Parse(c.Database)
	if err != nil || u.Hostname() == "" && u.Query().Get("host") == "" {
		return problem("--database %q does not name a PostgreSQL host", redact(c.Database))
	}
	return nil
}

// redact hides a password in a database URL so that it never reaches a terminal or log.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		if scheme, _, ok := strings.Cut(dsn, "://"); ok {
			return scheme + "://…"
		}
		return "…"
	}
	return u.Redacted()
}

func (c Config) checkDomain() []error {
	if err := directory.ValidateDomain(c.Domain); err != nil {
		return problem("--domain %q is not a domain name such as contoso.test", c.Domain)
	}
	return nil
}

func (c Config) checkTLS() []error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return problem("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.TLSCert != "" && c.InsecureHTTP {
		return problem("--insecure-http and --tls-cert contradict each other: choose one")
	}
	var out []error
	for _, f := range []struct{ flag, path string }{{"--tls-cert", c.TLSCert}, {"--tls-key", c.TLSKey}} {
		if f.path == "" {
			continue
		}
		if fi, err := os.Stat(f.path); err != nil || fi.IsDir() {
			out = append(out, fmt.Errorf("%s %s is not a readable file", f.flag, f.path))
		}
	}
	return out
}

func (c Config) checkSigning() []error {
	if c.SigningAlg != "ES256" && c.SigningAlg != "RS256" {
		return problem("--signing-alg %q is not supported: use ES256 or RS256", c.SigningAlg)
	}
	return nil
}

func (c Config) checkLogging() []error {
	var out []error
	if c.LogFormat != "json" && c.LogFormat != "text" {
		out = append(out, fmt.Errorf("--log-format %q is not supported: use json or text", c.LogFormat))
	}
	if _, err := c.Level(); err != nil {
		out = append(out, fmt.Errorf("--log-level %q is not a level: use debug, info, warn or error", c.LogLevel))
	}
	return out
}

// Level is LogLevel as a slog.Level; it fails for anything but debug, info, warn or error.
func (c Config) Level() (slog.Level, error) {
	switch strings.ToLower(c.LogLevel) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q", c.LogLevel)
}

func (c Config) checkInsecureHTTP() []error {
	if !c.InsecureHTTP {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return nil // checkAddr reports it
	}
	if !isLoopback(host) {
		return problem("--insecure-http is refused with --addr %q: plain HTTP is only allowed on a loopback address such as 127.0.0.1", c.Addr)
	}
	return nil
}

// isLoopback is true only for names that cannot reach another machine; an empty host means
// every interface and is not loopback.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c Config) checkShutdown() []error {
	d := time.Duration(c.ShutdownTimeout)
	if d <= 0 || d > maxShutdownTimeout {
		return problem("--shutdown-timeout %s must be more than 0 and at most %s", d, maxShutdownTimeout)
	}
	return nil
}
