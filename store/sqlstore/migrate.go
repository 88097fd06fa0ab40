package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

type migration struct {
	version int
	name    string
	sql     string
}

// Migrate brings db's schema to version target (0 means the newest), applying every pending
// migration of d in one transaction and recording each in schema_migrations. New calls it;
// tests call it with a target to build an old database and then check the upgrade. It refuses
// a database whose schema is newer than d knows.
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, target int) error {
	const op = "sqlstore.Migrate"
	ms, err := loadMigrations(d.Migrations)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if target == 0 || target > len(ms) {
		target = len(ms)
	}
	s := &Store{db: db, d: d}
	err = s.inTx(ctx, func(c conn) error { return applyMigrations(ctx, c, ms[:target], len(ms)) })
	if err != nil {
		return d.wrap(op, err, "")
	}
	return nil
}

// applyMigrations applies ms past the recorded version; known is how many migrations this
// program has, so that a database written by a newer one is refused rather than misread.
func applyMigrations(ctx context.Context, c conn, ms []migration, known int) error {
	if c.d.MigrationLock != "" {
		if _, err := c.exec(ctx, c.d.MigrationLock); err != nil {
			return err
		}
	}
	if _, err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := c.row(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > known {
		return errs.Errorf("sqlstore.Migrate", errs.Internal,
			"The database schema is version %d but this program knows only %d; run a newer latch.", current, known)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := c.exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
		if _, err := c.exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
			m.version, m.name, micros(time.Now())); err != nil {
			return err
		}
	}
	return nil
}

// loadMigrations reads NNNN_name.sql files and insists they number 1, 2, 3 … without gaps,
// so that a missing file is found before a database is half upgraded.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	if fsys == nil {
		return nil, fmt.Errorf("dialect has no migrations")
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		m, err := readMigration(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %d is missing or doubled", i+1)
		}
	}
	return ms, nil
}

func readMigration(fsys fs.FS, name string) (migration, error) {
	num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil || v <= 0 {
		return migration{}, fmt.Errorf("migration file %q is not named NNNN_name.sql", name)
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return migration{}, err
	}
	return migration{version: v, name: rest, sql: string(b)}, nil
}
