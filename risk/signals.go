package risk

import (
	"fmt"
	"net/netip"
	"time"
)

// badAddress: the address is on the known-bad list.
func badAddress(_ SignInHistory, s SignIn, cfg Config, _ time.Time) (Reason, bool) {
	a := s.Address.Unmap()
	for _, p := range cfg.BadAddresses {
		if p.Contains(a) {
			return Reason{SignalBadAddress, High, fmt.Sprintf("The address %s is in the known-bad range %s.", a, p)}, true
		}
	}
	return Reason{}, false
}

// spray: many accounts failed from this address recently. Counting distinct accounts, not
// attempts, is what tells a spray (one password against many accounts) from one person
// mistyping theirs.
func spray(h SignInHistory, s SignIn, cfg Config, now time.Time) (Reason, bool) {
	if cfg.SprayAccounts <= 0 {
		return Reason{}, false
	}
	a := s.Address.Unmap()
	accounts := map[string]bool{}
	for _, f := range within(h.Failures, now, cfg.SprayWindow) {
		if f.Address.Unmap() == a {
			accounts[f.UserID] = true
		}
	}
	if len(accounts) < cfg.SprayAccounts {
		return Reason{}, false
	}
	level := Medium
	if len(accounts) >= 2*cfg.SprayAccounts {
		level = High
	}
	return Reason{SignalSpray, level, fmt.Sprintf("Sign-ins for %d accounts failed from %s in the last %s.",
		len(accounts), a, cfg.SprayWindow)}, true
}

// travel: the latest earlier success was too far away to have come from since.
func travel(h SignInHistory, s SignIn, cfg Config, now time.Time) (Reason, bool) {
	if cfg.Geo == nil || cfg.MaxSpeedKmh <= 0 {
		return Reason{}, false
	}
	here, ok := cfg.Geo.Lookup(s.Address)
	last, found := latest(within(h.Successes, now, cfg.FamiliarWindow))
	if !ok || !found {
		return Reason{}, false
	}
	there, ok := cfg.Geo.Lookup(last.Address)
	if !ok {
		return Reason{}, false
	}
	km := distanceKm(here, there)
	hours := now.Sub(last.Time).Hours()
	if km < cfg.MinTravelKm || (hours > 0 && km/hours <= cfg.MaxSpeedKmh) {
		return Reason{}, false
	}
	return Reason{SignalTravel, Medium, fmt.Sprintf("%.0f km from the sign-in at %s (%s) in %s.",
		km, last.Time.UTC().Format(time.RFC3339), last.Address, now.Sub(last.Time).Round(time.Minute))}, true
}

func latest(past []Past) (Past, bool) {
	var best Past
	for _, p := range past {
		if p.Time.After(best.Time) {
			best = p
		}
	}
	return best, !best.Time.IsZero()
}

// unfamiliar: no recent success from this network. Networks, not addresses, because home and
// office addresses change within their provider's block.
func unfamiliar(h SignInHistory, s SignIn, cfg Config, now time.Time) (Reason, bool) {
	past := within(h.Successes, now, cfg.FamiliarWindow)
	if len(past) < max(cfg.MinHistory, 1) {
		return Reason{}, false
	}
	net := network(s.Address)
	for _, p := range past {
		if network(p.Address) == net {
			return Reason{}, false
		}
	}
	r := Reason{SignalUnfamiliar, Low, fmt.Sprintf("No successful sign-in from the network %s in the last %s.", net, cfg.FamiliarWindow)}
	if cfg.Geo != nil && newCountry(cfg.Geo, s.Address, past) {
		r.Level = Medium
		r.Detail += " Nor from its country."
	}
	return r, true
}

// network is the /24 (IPv4) or /48 (IPv6) holding a.
func network(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// newCountry reports whether a's country is known and differs from every past country known.
func newCountry(g *GeoTable, a netip.Addr, past []Past) bool {
	here, ok := g.Country(a)
	if !ok {
		return false
	}
	for _, p := range past {
		if c, ok := g.Country(p.Address); !ok || c == here {
			return false
		}
	}
	return true
}

// recentReset: a sign-in soon after a password reset.
func recentReset(h SignInHistory, _ SignIn, cfg Config, now time.Time) (Reason, bool) {
	if h.PasswordReset.IsZero() || h.PasswordReset.After(now) || now.Sub(h.PasswordReset) > cfg.ResetWindow {
		return Reason{}, false
	}
	return Reason{SignalPasswordReset, Low, fmt.Sprintf("The password was reset %s before this sign-in.",
		now.Sub(h.PasswordReset).Round(time.Second))}, true
}
