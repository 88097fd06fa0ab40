package sqlstore_test

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store/postgres"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/store/sqlstore"
	"github.com/latchsh/latch/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// signInBatchStore is what the test needs of either dialect's store.
type signInBatchStore interface {
	AppendSignIn(ctx context.Context, tenantID string, e signinlog.Entry) error
	AppendSignIns(ctx context.Context, tenantID string, entries []signinlog.Entry) error
	ListSignIns(ctx context.Context, tenantID string, f signinlog.Filter, limit int) ([]signinlog.Entry, error)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// entries are n sign-ins, a second apart, alternately of two users, with every kind of field set.
func entries(prefix string, n int) []signinlog.Entry {
	out := make([]signinlog.Entry, n)
	for i := range out {
		user := []string{"A11CE000-0000-4000-8000-000000000001", "b0b00000-0000-4000-8000-000000000002"}[i%2]
		out[i] = signinlog.New(signinlog.Input{ID: fmt.Sprintf("%s-%04d", prefix, i), Time: t0.Add(time.Duration(i) * time.Second),
			UserID: user, UserPrincipalName: "<user> & \"co\"", AppID: "app", Flow: signinlog.FlowBrowser,
			Methods: []string{"password"}}, conditional.Result{Status: conditional.StatusNotApplied})
	}
	return out
}

func testAppendSignIns(t *testing.T, s signInBatchStore) {
	ctx := t.Context()
	const tid = "7e000000-0000-4000-8000-000000000001"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		all, err := s.ListSignIns(ctx, tid, signinlog.Filter{}, 1000)
		must(err)
		return len(all)
	}
	must(s.AppendSignIn(ctx, tid, entries("taken", 1)[0]))
	refusals := []struct {
		name  string
		batch []signinlog.Entry
		kind  errs.Kind
	}{
		{"fail/no-id", append(entries("x", 70), signinlog.Entry{CreatedDateTime: t0}), errs.Invalid},
		{"fail/no-time", append(entries("x", 3), signinlog.Entry{ID: "no-time"}), errs.Invalid},
		{"fail/id-twice-in-the-batch", append(entries("x", 100), entries("x", 1)...), errs.Exists},
		{"fail/id-already-logged", append(entries("y", 130), entries("taken", 1)...), errs.Exists},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			if err := s.AppendSignIns(ctx, tid, c.batch); !errs.Is(err, c.kind) {
				t.Fatalf("got %v, want %v", err, c.kind)
			}
			if n := count(); n != 1 {
				t.Fatalf("%d entries after a refused batch, want the 1 logged before", n)
			}
		})
	}
	t.Run("ok/batch-over-several-inserts", func(t *testing.T) {
		batch := entries("ok", 300)
		must(s.AppendSignIns(ctx, tid, batch))
		all, err := s.ListSignIns(ctx, tid, signinlog.Filter{UserID: "a11ce000-0000-4000-8000-000000000001"}, 1000)
		must(err)
		if len(all) != 151 { // 150 of the batch and the one logged first
			t.Fatalf("%d of the user's entries, want 151", len(all))
		}
		if got, want := all[0], batch[298]; !reflect.DeepEqual(got, want) {
			t.Fatalf("newest entry read back as\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("ok/empty-batch", func(t *testing.T) {
		must(s.AppendSignIns(ctx, tid, nil))
		if n := count(); n != 301 {
			t.Fatalf("%d entries, want 301", n)
		}
	})
	t.Run("ok/app-sign-ins-without-user", func(t *testing.T) {
		batch := entries("app", 3)
		for i := range batch {
			batch[i].UserID = ""
		}
		must(s.AppendSignIns(ctx, tid, batch))
		if n := count(); n != 304 {
			t.Fatalf("%d entries, want 304", n)
		}
		mine, err := s.ListSignIns(ctx, tid, signinlog.Filter{UserID: "a11ce000-0000-4000-8000-000000000001"}, 1000)
		must(err)
		if len(mine) != 151 { // an entry without user is no user's (a NULL, not "")
			t.Fatalf("%d of the user's entries, want 151", len(mine))
		}
	})
}

func TestAppendSignInsSQLite(t *testing.T) {
	s, err := sqlite.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testAppendSignIns(t, s.(signInBatchStore))
}

func TestAppendSignInsPostgres(t *testing.T) {
	s, err := postgres.Open(t.Context(), testenv.StartPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testAppendSignIns(t, s.(signInBatchStore))
}

// BenchmarkAppendSignIns writes the server's sign-in log the way its writers do under load:
// batches of 32 entries to a SQLite file in WAL mode. ns/op is per entry.
func BenchmarkAppendSignIns(b *testing.B) {
	s, err := sqlite.Open(b.TempDir() + "/latch.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bs := s.(signInBatchStore)
	batch := 32
	if n, err := strconv.Atoi(os.Getenv("BENCH_BATCH")); err == nil {
		batch = n
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i += batch {
		es := entries(fmt.Sprintf("b%09d", i), min(batch, b.N-i))
		for j := range es {
			es[j].ID = benchID(i + j)
		}
		if err := bs.AppendSignIns(b.Context(), "7e000000-0000-4000-8000-000000000001", es); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchID is a random GUID, or with BENCH_ORDERED_IDS set one whose first bits count up.
func benchID(n int) string {
	var b [16]byte
	crand.Read(b[:])
	if os.Getenv("BENCH_ORDERED_IDS") != "" {
		b[0], b[1], b[2], b[3], b[4], b[5] = byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// BenchmarkAppendSignInsPostgres is BenchmarkAppendSignIns on PostgreSQL, with PostgreSQL's own
// CPU per entry beside ours (pg-cpu-ns/op: every process of the cluster). BENCH_PG_INSERT=1
// writes with the multi-row INSERTs instead of COPY, to compare the two.
func BenchmarkAppendSignInsPostgres(b *testing.B) {
	db, err := postgres.OpenDB(b.Context(), testenv.StartPostgres(b))
	if err != nil {
		b.Fatal(err)
	}
	d := *postgres.Dialect
	if os.Getenv("BENCH_PG_INSERT") != "" {
		d.CopyRows = nil
	}
	s, err := sqlstore.New(b.Context(), db, &d)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	postmaster := postmasterPID(b, db)
	batch := 64
	if n, err := strconv.Atoi(os.Getenv("BENCH_BATCH")); err == nil {
		batch = n
	}
	b.ReportAllocs()
	cpu0, pg0 := cpuTime(), clusterCPU(postmaster)
	for i := 0; i < b.N; i += batch {
		es := entries("b", min(batch, b.N-i))
		for j := range es {
			es[j].ID = benchID(i + j)
		}
		if err := s.AppendSignIns(b.Context(), "7e000000-0000-4000-8000-000000000001", es); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(clusterCPU(postmaster)-pg0)/float64(b.N), "pg-cpu-ns/op")
}

// postmasterPID is the parent of the backend serving one of db's connections.
func postmasterPID(b *testing.B, db *sql.DB) int {
	var backend int
	if err := db.QueryRowContext(b.Context(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}
	f, err := procStat(backend)
	if err != nil {
		b.Fatal(err)
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// clusterCPU is the user and system time of the postmaster, its live children and the
// children it has reaped, read from /proc.
func clusterCPU(postmaster int) time.Duration {
	tick := func(f []string, i int) int64 { n, _ := strconv.ParseInt(f[i], 10, 64); return n }
	var ticks int64
	if f, err := procStat(postmaster); err == nil {
		ticks += tick(f, 11) + tick(f, 12) + tick(f, 13) + tick(f, 14)
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if f, err := procStat(pid); err == nil && f[1] == strconv.Itoa(postmaster) {
			ticks += tick(f, 11) + tick(f, 12)
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// procStat is /proc/pid/stat's fields after the command, so that field n of proc(5) is [n-3].
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}
