package sqlite_test

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/store/sqlstore/sqlstoretest"
	"github.com/latchsh/latch/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestWALFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "latch.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestUpgradeFromMigration1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sqlstoretest.Upgrade(t, db, sqlite.Dialect, func() (store.Store, error) { return sqlite.Open(path) })
}

func TestOpenFailures(t *testing.T) {
	for name, path := range map[string]string{
		"fail/missing-directory": filepath.Join(t.TempDir(), "no", "such", "dir", "latch.db"),
		"fail/not-a-database":    notADatabase(t),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sqlite.Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errs.Is(err, errs.Unavailable) {
				t.Fatalf("got %v, want Unavailable", err)
			}
		})
	}
	t.Run("fail/closed-store-is-unavailable", func(t *testing.T) {
		s, err := sqlite.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err = s.GetTenant(t.Context(), "x")
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("got %v, want Unavailable", err)
		}
	})
}

func notADatabase(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not sqlite "), 512), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConnectionSettings checks the pragmas the store's correctness rests on, on every
// connection the pool hands out, not only the first.
func TestConnectionSettings(t *testing.T) {
	db, err := sqlite.OpenDB(filepath.Join(t.TempDir(), "settings.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		if conns[i], err = db.Conn(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
	}
	for i, c := range conns {
		for pragma, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "10000", "foreign_keys": "1"} {
			var got string
			if err := c.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: %s = %s, want %s", i, pragma, got, want)
			}
		}
	}
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("the database file has mode %v, want 0600", fi.Mode().Perm())
	}
}
