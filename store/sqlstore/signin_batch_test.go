package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/store/sqlstore"
)

func TestAppendSignIns(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlstore.Store)
	ctx, tid := context.Background(), "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	entry := func(id string) signinlog.Entry { return signinlog.Entry{ID: id, CreatedDateTime: now} }
	count := func() int {
		all, err := s.ListSignIns(ctx, tid, signinlog.Filter{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	if err := s.AppendSignIns(ctx, tid, []signinlog.Entry{entry("a"), {ID: "b"}}); !errs.Is(err, errs.Invalid) || count() != 0 {
		t.Fatalf("fail/no-time: %v, %d entries", err, count())
	}
	if err := s.AppendSignIns(ctx, tid, []signinlog.Entry{entry("a"), entry("b"), entry("c")}); err != nil || count() != 3 {
		t.Fatalf("ok/three: %v, %d entries", err, count())
	}
	if err := s.AppendSignIns(ctx, tid, []signinlog.Entry{entry("d"), entry("a")}); !errs.Is(err, errs.Exists) || count() != 3 {
		t.Fatalf("fail/duplicate-adds-nothing: %v, %d entries", err, count())
	}
}
