package storetest

import (
	"bytes"
	"testing"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

func newSSHCA(tenantID string, key byte) store.SSHCA {
	return store.SSHCA{TenantID: tenantID, Key: []byte{0x30, 0x2e, key, 0x01}}
}

var sshCAFailures = []Case{
	{"fail/ssh-ca-not-found", func(t *testing.T, s store.Store) {
		_, err := s.GetSSHCA(ctx(t), newID())
		wantKind(t, err, errs.NotFound)
	}},
	{"fail/ssh-ca-second-per-tenant", func(t *testing.T, s store.Store) {
		tid := newID()
		must(t, s.CreateSSHCA(ctx(t), newSSHCA(tid, 1)))
		wantKind(t, s.CreateSSHCA(ctx(t), newSSHCA(tid, 2)), errs.Exists)
		got, err := s.GetSSHCA(ctx(t), tid)
		must(t, err)
		if !bytes.Equal(got.Key, newSSHCA(tid, 1).Key) {
			t.Fatalf("the second create replaced the authority: key %x", got.Key)
		}
	}},
	{"fail/ssh-ca-race-one-winner", func(t *testing.T, s store.Store) {
		tid := newID()
		errsOut := race(20, func(i int) error { return s.CreateSSHCA(ctx(t), newSSHCA(tid, byte(i))) })
		if n := tally(errsOut); n["ok"] != 1 || n[errs.Exists.String()] != 19 {
			t.Fatalf("20 replicas creating one tenant's authority: %v, want 1 ok and 19 Exists", n)
		}
		winner := -1
		for i, err := range errsOut {
			if err == nil {
				winner = i
			}
		}
		got, err := s.GetSSHCA(ctx(t), tid)
		must(t, err)
		if !bytes.Equal(got.Key, newSSHCA(tid, byte(winner)).Key) {
			t.Fatalf("stored key %x is not the winner's", got.Key)
		}
	}},
}

var sshCAOK = []Case{
	{"ok/ssh-ca-per-tenant", func(t *testing.T, s store.Store) {
		a, b := newID(), newID()
		must(t, s.CreateSSHCA(ctx(t), newSSHCA(a, 1)))
		must(t, s.CreateSSHCA(ctx(t), newSSHCA(b, 2)))
		got, err := s.GetSSHCA(ctx(t), a)
		must(t, err)
		if got.TenantID != a || !bytes.Equal(got.Key, newSSHCA(a, 1).Key) || got.Version != 1 || got.Created.IsZero() {
			t.Fatalf("got %+v", got)
		}
		got, err = s.GetSSHCA(ctx(t), b)
		must(t, err)
		if !bytes.Equal(got.Key, newSSHCA(b, 2).Key) {
			t.Fatalf("tenant b got key %x", got.Key)
		}
	}},
}
