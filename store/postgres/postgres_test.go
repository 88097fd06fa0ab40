package postgres_test

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/postgres"
	"github.com/latchsh/latch/store/sqlstore/sqlstoretest"
	"github.com/latchsh/latch/store/storetest"
	"github.com/latchsh/latch/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), testenv.StartPostgres(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestUpgradeFromMigration1(t *testing.T) {
	url := testenv.StartPostgres(t)
	db, err := postgres.OpenDB(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sqlstoretest.Upgrade(t, db, postgres.Dialect, func() (store.Store, error) { return postgres.Open(t.Context(), url) })
}

func TestOpenFailures(t *testing.T) {
	t.Run("fail/unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err = postgres.Open(ctx, "postgres://postgres@"+addr+"/latch?sslmode=disable&connect_timeout=5")
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("got %v, want Unavailable", err)
		}
	})
	t.Run("fail/bad-url", func(t *testing.T) {
		_, err := postgres.Open(t.Context(), "postgres://[::1")
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("got %v, want Invalid", err)
		}
	})
	t.Run("fail/server-gone-is-unavailable", func(t *testing.T) {
		url := testenv.StartPostgres(t)
		s, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// Ending every session of the database is what a server restart looks like to the pool.
		admin, err := postgres.OpenDB(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		_, err = admin.ExecContext(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.GetTenant(t.Context(), "x")
		if err != nil && !errs.Is(err, errs.Unavailable) && !errs.Is(err, errs.NotFound) {
			t.Fatalf("after the server dropped the connections: got %v, want Unavailable or (reconnected) NotFound", err)
		}
	})
}

// TestReplicasStartTogether: replicas opening one empty database at once migrate it once; none
// fails on another's half-made schema.
func TestReplicasStartTogether(t *testing.T) {
	url := testenv.StartPostgres(t)
	errc := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(t.Context(), url)
			if err == nil {
				err = s.CreateTenant(t.Context(), directory.Tenant{ID: newTenantID()})
				s.Close()
			}
			errc <- err
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

var tenantSeq atomic.Int64

func newTenantID() string { return "tenant-" + strconv.FormatInt(tenantSeq.Add(1), 10) }
