package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// preparedDB runs queries outside transactions through statements prepared once per query
// text. SQLite otherwise parses every statement again on every call, which on the token
// endpoint's hot path cost as much as the reads themselves. The set of query texts is fixed by
// the code, so the cache is small; maxPrepared still bounds it.
type preparedDB struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

const maxPrepared = 512

func newPreparedDB(db *sql.DB) *preparedDB {
	return &preparedDB{db: db, stmts: make(map[string]*sql.Stmt)}
}

// stmt returns the prepared statement for q, preparing it on first use; nil when the cache is
// full or preparing failed, and the caller then runs q unprepared (which reports any error).
func (p *preparedDB) stmt(ctx context.Context, q string) *sql.Stmt {
	p.mu.RLock()
	st := p.stmts[q]
	p.mu.RUnlock()
	if st != nil {
		return st
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st = p.stmts[q]; st != nil || len(p.stmts) >= maxPrepared {
		return st
	}
	st, err := p.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	p.stmts[q] = st
	return st
}

func (p *preparedDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, q, args...)
}

func (p *preparedDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, q, args...)
}

func (p *preparedDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := p.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, q, args...)
}

// close releases the statements; the database is closed by the caller.
func (p *preparedDB) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.stmts {
		st.Close()
		delete(p.stmts, q)
	}
}
