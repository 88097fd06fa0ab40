package store

import (
	"context"
	"time"
)

// AbandonedChallengeAge is how old an unconsumed WebAuthn challenge must be before
// PurgeExpired removes it: far past any challenge's lifetime, so a ceremony in progress is
// never cut short.
const AbandonedChallengeAge = time.Hour

// PurgeStore removes what has outlived its use, for the server's hourly maintenance.
type PurgeStore interface {
	// PurgeExpired deletes browser sessions whose Expires is before now and WebAuthn
	// challenges created more than AbandonedChallengeAge before now, and says how many went.
	// A session changed while it is being purged (a sign-in extending it) is kept.
	PurgeExpired(ctx context.Context, now time.Time) (int64, error)
}
