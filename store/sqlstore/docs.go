package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchsh/latch/errs"
)

// docKind says how one Go type lives in the docs table: which fields are its tenant and id,
// what its unique lookup key is, and where the store-owned Version and Created go. The whole
// value is kept as JSON, so adding a field to a domain type needs no migration.
type docKind[T any] struct {
	name   string                          // the kind column
	what   string                          // how messages name it
	ids    func(*T) (tenantID, id *string) // pointers, so an update can put them back
	key    func(T) string                  // unique per (kind, tenant); "" for none
	ref    func(T) string                  // a non-unique lookup, e.g. a pass's user; "" for none
	stamp  func(v *T, version int64, created time.Time)
	exists func(T) string // the Exists message when an id or key is taken
}

// maxCASAttempts bounds the compare-and-swap loop. Each failed attempt means another writer
// succeeded, so n concurrent writers need at most n attempts; far more means something keeps
// rewriting the row, and the caller had better hear Conflict than wait forever.
const maxCASAttempts = 500

// nullable keeps "" out of unique indexes: NULLs never collide.
func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func (k docKind[T]) create(ctx context.Context, s *Store, op string, v T) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	k.stamp(&v, 1, now)
	data, err := marshal(op, v)
	if err != nil {
		return err
	}
	tid, id := k.ids(&v)
	_, err = s.c.exec(ctx, `INSERT INTO docs (kind, tenant_id, id, lookup, ref, version, created, data)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?)`, k.name, *tid, *id, nullable(k.key(v)), nullable(k.ref(v)), micros(now), data)
	if err != nil {
		return s.d.wrap(op, err, k.exists(v))
	}
	return nil
}

// row is the store-owned part of a document: its version and creation time.
type row struct {
	version int64
	created time.Time
}

// scan reads one (data, version, created) row into a T with the store's fields overlaid.
func (k docKind[T]) scan(op string, sc interface{ Scan(...any) error }) (T, row, error) {
	var (
		v       T
		data    string
		r       row
		created int64
	)
	if err := sc.Scan(&data, &r.version, &created); err != nil {
		return v, r, err
	}
	if err := unmarshal(op, data, &v); err != nil {
		return v, r, err
	}
	r.created = time.UnixMicro(created).UTC()
	k.stamp(&v, r.version, r.created)
	return v, r, nil
}

// read fetches one object by id; lock makes it a locking read inside a transaction.
func (k docKind[T]) read(ctx context.Context, c conn, op, tenantID, id string, lock bool) (T, row, error) {
	q := `SELECT data, version, created FROM docs WHERE kind = ? AND tenant_id = ? AND id = ?`
	if lock {
		q = c.forUpdate(q)
	}
	v, r, err := k.scan(op, c.row(ctx, q, k.name, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, r, notFound(op, k.what, id)
	}
	if err != nil {
		return v, r, c.d.wrap(op, err, "")
	}
	return v, r, nil
}

func (k docKind[T]) get(ctx context.Context, s *Store, op, tenantID, id string) (T, error) {
	v, _, err := k.read(ctx, s.c, op, tenantID, id, false)
	return v, err
}

// getByKey finds an object by its unique key, which the caller has already normalised.
func (k docKind[T]) getByKey(ctx context.Context, s *Store, op, tenantID, key string) (T, error) {
	v, _, err := k.scan(op, s.c.row(ctx, `SELECT data, version, created FROM docs
		WHERE kind = ? AND tenant_id = ? AND lookup = ?`, k.name, tenantID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return v, notFound(op, k.what, key)
	}
	if err != nil {
		return v, s.d.wrap(op, err, "")
	}
	return v, nil
}

// list returns a tenant's objects of this kind, oldest first; ref, when not "", selects those
// whose ref column equals it.
func (k docKind[T]) list(ctx context.Context, s *Store, op, tenantID, ref string) ([]T, error) {
	q := `SELECT data, version, created FROM docs WHERE kind = ? AND tenant_id = ?`
	args := []any{k.name, tenantID}
	if ref != "" {
		q += ` AND ref = ?`
		args = append(args, ref)
	}
	rows, err := s.c.query(ctx, q+` ORDER BY created, id`, args...)
	if err != nil {
		return nil, s.d.wrap(op, err, "")
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, _, err := k.scan(op, rows)
		if err != nil {
			return nil, s.d.wrap(op, err, "")
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap(op, err, "")
	}
	return out, nil
}

// update is the compare-and-swap loop: read, let fn change a copy, write it back only if the
// version is still the one read, otherwise start again from the newer row. fn runs outside any
// transaction, so it may be slow or call the store itself without holding a lock.
func (k docKind[T]) update(ctx context.Context, s *Store, op, tenantID, id string, fn func(T) (T, error)) (T, error) {
	var zero T
	for range maxCASAttempts {
		old, r, err := k.read(ctx, s.c, op, tenantID, id, false)
		if err != nil {
			return zero, err
		}
		nv, err := fn(old)
		if err != nil {
			return zero, err
		}
		ok, err := k.swap(ctx, s.c, op, tenantID, id, r, &nv)
		if err != nil || ok {
			return nv, err
		}
		if err := ctx.Err(); err != nil {
			return zero, s.d.wrap(op, err, "")
		}
	}
	return zero, errs.Errorf(op, errs.Conflict, "The %s %q is being changed by others too often; try again.", k.what, id)
}

// swap writes nv over the row if its version is still r's, restoring the ids and creation time
// fn may have changed. It reports whether the row was written.
func (k docKind[T]) swap(ctx context.Context, c conn, op, tenantID, id string, r row, nv *T) (bool, error) {
	tid, nid := k.ids(nv)
	*tid, *nid = tenantID, id
	version := r.version
	k.stamp(nv, version+1, r.created)
	data, err := marshal(op, *nv)
	if err != nil {
		return false, err
	}
	n, err := c.exec(ctx, `UPDATE docs SET data = ?, lookup = ?, ref = ?, version = ?
		WHERE kind = ? AND tenant_id = ? AND id = ? AND version = ?`,
		data, nullable(k.key(*nv)), nullable(k.ref(*nv)), version+1, k.name, tenantID, id, version)
	if err != nil {
		return false, c.d.wrap(op, err, k.exists(*nv))
	}
	return n == 1, nil
}

// remove deletes one object, reporting NotFound when there was none.
func (k docKind[T]) remove(ctx context.Context, c conn, op, tenantID, id string) error {
	n, err := c.exec(ctx, `DELETE FROM docs WHERE kind = ? AND tenant_id = ? AND id = ?`, k.name, tenantID, id)
	if err != nil {
		return c.d.wrap(op, err, "")
	}
	if n == 0 {
		return notFound(op, k.what, id)
	}
	return nil
}
