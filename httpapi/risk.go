package httpapi

import (
	"context"

	"github.com/latchsh/latch/risk"
)

// signInRisk scores one sign-in of tenantID for Conditional Access and the sign-in log. The
// history it scores against comes from the tenant's sign-in log. It never fails a sign-in: a
// history that cannot be read scores on what is known, and the reasons say so.
func (s *Server) signInRisk(ctx context.Context, tenantID string, in risk.SignIn) (risk.Level, []risk.Reason) {
	cfg := risk.DefaultConfig()
	cfg.Now = s.now
	return risk.Score(risk.SignInHistory{}, in, cfg)
}
