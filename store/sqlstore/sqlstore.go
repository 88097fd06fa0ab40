package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// Store implements store.Store over a *sql.DB. Create it with New.
type Store struct {
	db  *sql.DB
	p   *preparedDB
	d   *Dialect
	c   conn // the pool, for statements that need no transaction
	now func() time.Time
}

var _ store.Store = (*Store)(nil)

// Option adjusts a Store made by New.
type Option func(*Store)

// WithClock sets the clock that stamps Created on new objects; the default is time.Now. Nothing
// that decides validity reads it: those methods take now from the caller.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New applies d's pending migrations to db and returns a Store that owns db (Close closes it).
// It fails with Unavailable when the database cannot be reached, and with Internal when a
// migration fails or the database is newer than this program.
func New(ctx context.Context, db *sql.DB, d *Dialect, opts ...Option) (*Store, error) {
	p := newPreparedDB(db)
	s := &Store{db: db, p: p, d: d, c: conn{p, d}, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := Migrate(ctx, db, d, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the database. Calls after Close fail with Unavailable.
func (s *Store) Close() error {
	s.p.close()
	return s.db.Close()
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs "?"-style queries on a pool or a transaction in the dialect's syntax.
type conn struct {
	q querier
	d *Dialect
}

func (c conn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, c.d.Rebind(query), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.QueryContext(ctx, c.d.Rebind(query), args...)
}

func (c conn) row(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.d.Rebind(query), args...)
}

// forUpdate appends the dialect's row lock to a SELECT.
func (c conn) forUpdate(query string) string { return query + c.d.ForUpdate }

// maxTxAttempts bounds how often a transaction is retried after a serialization failure,
// deadlock or busy database before the caller sees Unavailable.
const maxTxAttempts = 8

// inTx runs fn in a transaction, retrying it when the database reports a conflict it resolved
// by aborting us. fn must therefore reset anything it captured at its start. An error from fn
// rolls the transaction back and is returned as is.
func (s *Store) inTx(ctx context.Context, fn func(c conn) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || s.d.classify(err) != Retry || attempt == maxTxAttempts {
			return err
		}
		backoff := time.Duration(rand.Int64N(int64(attempt)*int64(5*time.Millisecond))) + time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(c conn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(conn{tx, s.d}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// micros is how times are kept in columns: integers compare the same in every dialect, and
// microseconds reach year 1 (the zero time) without overflowing.
func micros(t time.Time) int64 { return t.UnixMicro() }

func marshal(op string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", errs.E(op, errs.Internal, err)
	}
	return string(b), nil
}

func unmarshal(op string, data string, v any) error {
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	return nil
}

// notFound builds the NotFound error every getter returns.
func notFound(op, what, id string) error {
	return errs.Errorf(op, errs.NotFound, "%s %q does not exist.", what, id)
}

// bit stores a bool in an INTEGER column, which every dialect has.
func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}
