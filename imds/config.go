package imds

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Config tunes the service. The zero value is Azure's behaviour; every field is optional.
type Config struct {
	// Now is the clock (tests move a fake one). Default time.Now.
	Now func() time.Time
	// Logger receives what callers are not told (upstream errors). Default slog.Default().
	Logger *slog.Logger

	// IdentityHeader is the secret of the App Service protocol: callers send it as
	// X-IDENTITY-HEADER, the agent hands it to programs as IDENTITY_HEADER. Empty: New makes
	// a random one (see Server.IdentityHeader).
	IdentityHeader string

	// IdentityRate and IdentityConcurrency limit each identity on the identity endpoints:
	// requests per second (burst of the same size) and requests in flight. Defaults: Azure's
	// 20 and 5.
	IdentityRate        float64
	IdentityConcurrency int
	// InstanceRate limits each caller address on the instance endpoints, requests per second
	// (burst of the same size). Default: Azure's 5.
	InstanceRate float64

	// BypassInterval is how old a cached token must be before bypass_cache=true fetches a new
	// one; a younger token is as fresh as a new one would be. Default 5 s.
	BypassInterval time.Duration
	// TokenTimeout bounds one call to Source.Token. Default 30 s.
	TokenTimeout time.Duration
	// MaxCachedTokens caps the token cache (callers choose the resource, so the key space is
	// theirs). Default 4096.
	MaxCachedTokens int

	// Hosts are Host header values served besides 169.254.169.254, localhost, 127.0.0.1, ::1
	// and the hosts of loopback listeners made with ListenLoopback.
	Hosts []string
	// LocalAddrs lists the machine's own addresses, which are local callers when they reach
	// the 169.254.169.254 listener. Default: the addresses of the machine's interfaces.
	LocalAddrs func() ([]netip.Addr, error)
}

const (
	defaultIdentityRate        = 20
	defaultIdentityConcurrency = 5
	defaultInstanceRate        = 5
	defaultBypassInterval      = 5 * time.Second
	defaultTokenTimeout        = 30 * time.Second
	defaultMaxCachedTokens     = 4096
)

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.IdentityRate < 0 || c.InstanceRate < 0 {
		errs = append(errs, errors.New("imds: rates must not be negative"))
	}
	if c.IdentityConcurrency < 0 || c.MaxCachedTokens < 0 {
		errs = append(errs, errors.New("imds: IdentityConcurrency and MaxCachedTokens must not be negative"))
	}
	if c.BypassInterval < 0 || c.TokenTimeout < 0 {
		errs = append(errs, errors.New("imds: durations must not be negative"))
	}
	if c.IdentityHeader != "" && len(c.IdentityHeader) < 16 {
		errs = append(errs, fmt.Errorf("imds: IdentityHeader must be at least 16 characters, not %d", len(c.IdentityHeader)))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.IdentityRate = orDefault(c.IdentityRate, defaultIdentityRate)
	c.IdentityConcurrency = orDefault(c.IdentityConcurrency, defaultIdentityConcurrency)
	c.InstanceRate = orDefault(c.InstanceRate, defaultInstanceRate)
	c.BypassInterval = orDefault(c.BypassInterval, defaultBypassInterval)
	c.TokenTimeout = orDefault(c.TokenTimeout, defaultTokenTimeout)
	c.MaxCachedTokens = orDefault(c.MaxCachedTokens, defaultMaxCachedTokens)
	if c.LocalAddrs == nil {
		c.LocalAddrs = interfaceAddrs
	}
	return c
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
