package storetest

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

// The races. Each releases its goroutines together and then checks an outcome that a store
// without the right locking or compare-and-swap gets wrong often, not only in unlucky runs.

var concurrency = []Case{
	{"concurrency/group-append-50-no-lost-update", groupAppend},
	{"concurrency/refresh-rotate-100-one-winner", refreshRotateRace},
	{"concurrency/authcode-redeem-50-one-winner", authCodeRace},
	{"concurrency/jti-50-one-accepted", jtiRace},
	{"concurrency/signing-key-same-generation", signingKeyRace},
	{"concurrency/device-code-50-pollers-one-redeems", deviceCodeRace},
}

func wantTally(t *testing.T, errsIn []error, want map[string]int) {
	t.Helper()
	got := tally(errsIn)
	if !maps.Equal(got, want) {
		for _, err := range errsIn {
			if err != nil && errs.KindOf(err) == errs.Internal {
				t.Log(err)
			}
		}
		t.Fatalf("outcomes: got %v, want %v", got, want)
	}
}

func groupAppend(t *testing.T, s store.Store) {
	const n = 50
	warm(t, s, n)
	tid := newID()
	g := newGroup(tid, "crowd")
	must(t, s.CreateGroup(ctx(t), g))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID()
	}
	res := race(n, func(i int) error {
		_, err := s.UpdateGroup(ctx(t), tid, g.ID, func(g directory.Group) (directory.Group, error) {
			g.Members = append(g.Members, ids[i])
			return g, nil
		})
		return err
	})
	wantTally(t, res, map[string]int{"ok": n})
	got, err := s.GetGroup(ctx(t), tid, g.ID)
	must(t, err)
	slices.Sort(ids)
	slices.Sort(got.Members)
	if !slices.Equal(got.Members, ids) || got.Version != n+1 {
		t.Fatalf("got %d members at version %d, want all %d at version %d", len(got.Members), got.Version, n, n+1)
	}
}

func refreshRotateRace(t *testing.T, s store.Store) {
	const n = 100
	warm(t, s, n)
	r := newRefresh(newID())
	must(t, s.CreateRefreshToken(ctx(t), r))
	next := make([]token.RefreshToken, n)
	for i := range next {
		next[i] = newRefresh(r.FamilyID)
	}
	res := race(n, func(i int) error {
		_, err := s.RotateRefreshToken(ctx(t), r.Hash, next[i], t0)
		return err
	})
	wantTally(t, res, map[string]int{"ok": 1, "conflict": n - 1})
	winner := slices.IndexFunc(res, func(err error) bool { return err == nil })
	// The losers' reuse revoked the family, the winner's new token included.
	wantRefreshStatus(t, s, next[winner].Hash, token.RefreshRevoked)
	wantRefreshStatus(t, s, r.Hash, token.RefreshRotated)
	for i, nt := range next {
		if _, err := s.GetRefreshToken(ctx(t), nt.Hash); i != winner && !errs.Is(err, errs.NotFound) {
			t.Fatalf("a losing rotation stored its token: %v", err)
		}
	}
}

// warm opens as many connections as the race will want, so that the goroutines race on the
// database rather than queueing behind connection setup, which would hide a missing lock.
func warm(t *testing.T, s store.Store, n int) {
	race(n, func(int) error {
		_, err := s.GetRefreshToken(ctx(t), "warm-up")
		return err
	})
}

// rounds is how often the single-use races repeat, each on a new object: one round of a store
// without the right lock can still come out right by luck; several rarely do.
const rounds = 3

func authCodeRace(t *testing.T, s store.Store) {
	warm(t, s, 50)
	for range rounds {
		authCodeRound(t, s)
	}
}

func authCodeRound(t *testing.T, s store.Store) {
	const n = 50
	c := newCode(newID())
	must(t, s.CreateAuthCode(ctx(t), c))
	rt := newRefresh(c.FamilyID)
	must(t, s.CreateRefreshToken(ctx(t), rt))
	res := race(n, func(int) error {
		_, err := s.RedeemAuthCode(ctx(t), c.Hash, t0)
		return err
	})
	wantTally(t, res, map[string]int{"ok": 1, "conflict": n - 1})
	for _, err := range res {
		if err != nil && errs.CodeOf(err) != "invalid_grant" {
			t.Fatalf("a losing redemption lacks invalid_grant: %v", err)
		}
	}
	wantRefreshStatus(t, s, rt.Hash, token.RefreshRevoked)
}

func jtiRace(t *testing.T, s store.Store) {
	const n = 50
	warm(t, s, n)
	for range rounds {
		key := "https://issuer.test|" + newID()
		res := race(n, func(int) error { return s.UseJTI(ctx(t), key, t0.Add(time.Minute), t0) })
		wantTally(t, res, map[string]int{"ok": 1, "exists": n - 1})
	}
}

func signingKeyRace(t *testing.T, s store.Store) {
	const gens = 10
	tid := newID()
	for gen := int64(1); gen <= gens; gen++ {
		res := race(2, func(int) error { return s.AddSigningKey(ctx(t), newKey(tid, gen)) })
		wantTally(t, res, map[string]int{"ok": 1, "exists": 1})
	}
	list, err := s.ListSigningKeys(ctx(t), tid)
	must(t, err)
	if len(list) != gens {
		t.Fatalf("got %d keys, want one per generation (%d)", len(list), gens)
	}
}

var errNotApproved = errors.New("the device code is not approved")

func deviceCodeRace(t *testing.T, s store.Store) {
	const n = 50
	warm(t, s, n)
	d := newDevice(token.DeviceApproved)
	must(t, s.CreateDeviceCode(ctx(t), d))
	res := race(n, func(int) error {
		_, err := s.UpdateDeviceCode(ctx(t), d.Hash, func(d token.DeviceCode) (token.DeviceCode, error) {
			if d.Status != token.DeviceApproved {
				return d, errNotApproved
			}
			d.Status = token.DeviceRedeemed
			return d, nil
		})
		return err
	})
	won := 0
	for _, err := range res {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errNotApproved):
			t.Fatalf("a poller failed otherwise: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d pollers redeemed the code, want exactly 1", won)
	}
}
