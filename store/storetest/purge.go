package storetest

import (
	"testing"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// The purge cases run with the remembered-host groups (hosts.go): they are this file's
// failures and successes.
func init() {
	hostFailures = append(hostFailures, purgeFailures...)
	hostOK = append(hostOK, purgeOK...)
}

var purgeFailures = []Case{
	{"fail/purge-keeps-live-sessions-and-fresh-challenges", func(t *testing.T, s store.Store) {
		now := time.Now()
		tid := newID()
		live := authn.Session{ID: newID(), TenantID: tid, UserID: newID(), Expires: now.Add(time.Hour)}
		must(t, s.CreateSession(ctx(t), live))
		ch := authn.Challenge{ID: newID(), TenantID: tid, Purpose: "login", Expires: now.Add(5 * time.Minute)}
		must(t, s.CreateChallenge(ctx(t), ch))
		if _, err := s.PurgeExpired(ctx(t), now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx(t), live.ID); err != nil {
			t.Fatalf("a live session was purged: %v", err)
		}
		if _, err := s.ConsumeChallenge(ctx(t), tid, ch.ID, now); err != nil {
			t.Fatalf("a fresh challenge was purged: %v", err)
		}
	}},
}

var purgeOK = []Case{
	{"ok/purge-removes-expired-sessions-and-abandoned-challenges", func(t *testing.T, s store.Store) {
		now := time.Now()
		tid, uid := newID(), newID()
		old := authn.Session{ID: newID(), TenantID: tid, UserID: uid, Expires: now.Add(-time.Minute)}
		live := authn.Session{ID: newID(), TenantID: tid, UserID: uid, Expires: now.Add(time.Hour)}
		must(t, s.CreateSession(ctx(t), old))
		must(t, s.CreateSession(ctx(t), live))
		ch := authn.Challenge{ID: newID(), TenantID: tid, Purpose: "login", Expires: now.Add(5 * time.Minute)}
		must(t, s.CreateChallenge(ctx(t), ch))
		n, err := s.PurgeExpired(ctx(t), now.Add(store.AbandonedChallengeAge+time.Minute))
		must(t, err)
		// live has expired by then too; what matters is that both kinds went.
		if n < 3 {
			t.Fatalf("purged %d, want the 2 sessions and the challenge", n)
		}
		_, err = s.GetSession(ctx(t), old.ID)
		wantKind(t, err, errs.NotFound)
		_, err = s.ConsumeChallenge(ctx(t), tid, ch.ID, now)
		wantKind(t, err, errs.NotFound)
	}},
}
