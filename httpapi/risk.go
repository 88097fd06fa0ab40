package httpapi

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/latchsh/latch/risk"
	"github.com/latchsh/latch/signinlog"
)

// RiskTables are the admin's inputs to sign-in risk, loaded once at start: the address → place
// table that impossible travel and country novelty need, and the known-bad ranges. The zero
// value turns those signals off; history-based signals work without them.
type RiskTables struct {
	Geo          *risk.GeoTable
	BadAddresses []netip.Prefix
}

// Bounds on what one scoring reads. Successes are newest first, so the cap keeps the latest
// (the one travel compares with) and enough networks to call one familiar; failures beyond
// the cap are more than twice any spray threshold.
const (
	riskSuccessLimit = 200
	riskFailureLimit = 1000
	// riskFailureTTL: the tenant's recent failures are read at most this often per replica,
	// so a spray — many sign-ins a second — costs one log query a second, not one each.
	riskFailureTTL = time.Second
	// initialPasswordGrace: a password set within this of the account's creation is the
	// first one, not a reset.
	initialPasswordGrace = time.Minute
)

// Signal names for what could not be read; they carry no level, only a note for the log.
const riskSignalHistoryUnavailable = "historyUnavailable"

// signInRisk scores one sign-in of tenantID for Conditional Access and the sign-in log. The
// history it scores against comes from the tenant's sign-in log: the user's successful
// sign-ins of the last FamiliarWindow and the failures of the last SprayWindow from the
// address; the password reset time from the directory. It never fails a sign-in: a history
// that cannot be read scores on what is known, and the reasons say so.
func (s *Server) signInRisk(ctx context.Context, tenantID string, in risk.SignIn) (risk.Level, []risk.Reason) {
	cfg := risk.DefaultConfig()
	cfg.Now = s.now
	cfg.Geo, cfg.BadAddresses = s.Risk.Geo, s.Risk.BadAddresses
	now := s.now()
	var h risk.SignInHistory
	var notes []risk.Reason
	if in.UserID != "" {
		var err error
		if h.Successes, err = s.riskSuccesses(ctx, tenantID, in.UserID, now.Add(-cfg.FamiliarWindow)); err != nil {
			notes = append(notes, historyNote("The user's earlier sign-ins could not be read; familiarity and travel were not scored."))
		}
		if h.PasswordReset, err = s.passwordReset(ctx, tenantID, in.UserID); err != nil {
			notes = append(notes, historyNote("The user's password reset time could not be read."))
		}
	}
	if in.Address.IsValid() {
		var err error
		if h.Failures, err = s.riskFailures(ctx, tenantID, in.Address, now, cfg.SprayWindow); err != nil {
			notes = append(notes, historyNote("Recent failed sign-ins could not be read; password spray was not scored."))
		}
	}
	level, reasons := risk.Score(h, in, cfg)
	return level, append(reasons, notes...)
}

func historyNote(detail string) risk.Reason {
	return risk.Reason{Signal: riskSignalHistoryUnavailable, Level: risk.None, Detail: detail}
}

// riskSuccesses reads userID's successful sign-ins since from, newest first. The user id and
// the time bound are the log's indexed columns.
func (s *Server) riskSuccesses(ctx context.Context, tenantID, userID string, from time.Time) ([]risk.Past, error) {
	es, err := s.Store.ListSignInSummaries(ctx, tenantID, signinlog.Filter{UserID: userID, From: from, Status: signinlog.StatusSuccess}, riskSuccessLimit)
	if err != nil {
		return nil, err
	}
	return pastOf(es, nil), nil
}

// riskFailures reads the failed sign-ins from addr within window before now. The tenant's
// failures of the window are read together (through a one-second cache) and narrowed to the
// address here: the log has no address column, and a spray is exactly the case where many
// sign-ins arrive at once.
func (s *Server) riskFailures(ctx context.Context, tenantID string, addr netip.Addr, now time.Time, window time.Duration) ([]risk.Past, error) {
	all, err := s.riskRecentFailures.get(tenantID, now, riskFailureTTL, func() ([]risk.Past, error) {
		es, err := s.Store.ListSignInSummaries(ctx, tenantID, signinlog.Filter{From: now.Add(-window), Status: signinlog.StatusFailure}, riskFailureLimit)
		if err != nil {
			return nil, err
		}
		return pastOf(es, nil), nil
	})
	if err != nil {
		return nil, err
	}
	addr = addr.Unmap()
	var out []risk.Past
	for _, p := range all {
		if p.Address == addr {
			out = append(out, p)
		}
	}
	return out, nil
}

// pastOf turns log entries into risk's view, skipping entries without a usable address.
func pastOf(es []signinlog.Entry, out []risk.Past) []risk.Past {
	for _, e := range es {
		a, err := netip.ParseAddr(strings.TrimSpace(e.IPAddress))
		if err != nil {
			continue
		}
		// A failure for an account that does not exist has no user id; its name tells the
		// accounts a spray tried apart all the same.
		account := e.UserID
		if account == "" {
			account = e.UserPrincipalName
		}
		out = append(out, risk.Past{Time: e.CreatedDateTime, UserID: strings.ToLower(account), Address: a.Unmap()})
	}
	return out
}

// passwordReset is when userID's password was last set by anyone but the account's creator:
// the password given at creation is not a reset, or every first sign-in would look risky.
func (s *Server) passwordReset(ctx context.Context, tenantID, userID string) (time.Time, error) {
	u, err := s.Store.GetUser(ctx, tenantID, userID)
	if err != nil {
		return time.Time{}, err
	}
	changed := u.Password.LastChanged
	if changed.IsZero() || (!u.Created.IsZero() && changed.Sub(u.Created) < initialPasswordGrace) {
		return time.Time{}, nil
	}
	return changed, nil
}

// LoadRiskTables reads the admin's geo table and known-bad list from the named files; an
// empty name leaves that table out.
//
// Errors: the file's open error, or Invalid from risk.ParseGeoTable or risk.ParseAddressList
// naming the bad line.
func LoadRiskTables(geoPath, badPath string) (RiskTables, error) {
	var t RiskTables
	if geoPath != "" {
		f, err := os.Open(geoPath)
		if err != nil {
			return t, err
		}
		defer f.Close()
		if t.Geo, err = risk.ParseGeoTable(f); err != nil {
			return t, fmt.Errorf("%s: %w", geoPath, err)
		}
	}
	if badPath != "" {
		f, err := os.Open(badPath)
		if err != nil {
			return t, err
		}
		defer f.Close()
		if t.BadAddresses, err = risk.ParseAddressList(f); err != nil {
			return t, fmt.Errorf("%s: %w", badPath, err)
		}
	}
	return t, nil
}
