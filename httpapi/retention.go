package httpapi

import (
	"context"
	"errors"
	"time"
)

// SignInRetentionInterval is how often the retention sweep runs: hourly keeps the log within an
// hour of its retention, and each sweep is one indexed delete per tenant.
const SignInRetentionInterval = time.Hour

// PurgeSignIns deletes every tenant's sign-in log entries older than retention before the
// server's clock, and says how many went. A tenant whose delete fails does not stop the
// others; the failures are returned joined.
func (s *Server) PurgeSignIns(ctx context.Context, retention time.Duration) (int64, error) {
	tenants, err := s.Store.ListTenants(ctx)
	if err != nil {
		return 0, err
	}
	cut := s.now().Add(-retention)
	var total int64
	var problems []error
	for _, t := range tenants {
		n, err := s.Store.DeleteSignInsBefore(ctx, t.ID, cut)
		total += n
		if err != nil {
			problems = append(problems, err)
		}
	}
	return total, errors.Join(problems...)
}

// PurgeExpired removes expired browser sessions and abandoned WebAuthn challenges by the
// server's clock (store.PurgeStore), and says how many went.
func (s *Server) PurgeExpired(ctx context.Context) (int64, error) {
	return s.Store.PurgeExpired(ctx, s.now())
}
