package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/postgres"
	"github.com/latchsh/latch/testenv"
)

func openPostgres(b *testing.B) store.Store {
	st, err := postgres.Open(context.Background(), testenv.StartPostgres(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// postgresMissing says why PostgreSQL cannot be started here, or "" when its server programs
// are installed (Debian keeps them off PATH, under /usr/lib/postgresql/VERSION/bin).
func postgresMissing() string {
	if _, err := exec.LookPath("initdb"); err == nil {
		return ""
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return ""
	}
	return "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): run scripts/install.sh"
}

// TestMain stops the PostgreSQL server the benchmarks shared, if one was started.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}
