// Package sqlstoretest checks what only SQL backends have: their schema migrations. It builds a
// database at migration 1, fills it the way that version of the store wrote rows, and checks
// that opening it with the current code upgrades it without losing or misreading anything.
//
// It knows sqlstore's table layout by design and must be updated when a migration changes how
// existing rows are read; it must not be imported outside tests.
package sqlstoretest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlstore"
	"github.com/latchsh/latch/token"
)

// v1 is what a store at migration 1 held: one user, three refresh families and a code.
type v1 struct {
	tenant, upn, userID string
	active, rotated     string // family A: rotated → active
	revoked             string // family B, revoked
	familyB, codeHash   string
	codeFamily, codeRT  string // the code's family and a token in it
}

var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Upgrade migrates the empty database db to version 1, seeds it, then calls open, which must
// open a store on the same database (and so run the remaining migrations), and checks the
// result. Finally it marks the database as newer than this program and checks open refuses it.
func Upgrade(t *testing.T, db *sql.DB, d *sqlstore.Dialect, open func() (store.Store, error)) {
	ctx := t.Context()
	must(t, sqlstore.Migrate(ctx, db, d, 1))
	if v := schemaVersion(t, db); v != 1 {
		t.Fatalf("schema version after migrating to 1: %d", v)
	}
	seed := seedV1(t, db, d)
	s, err := open()
	must(t, err)
	if v := schemaVersion(t, db); v < 2 {
		t.Fatalf("schema version after open: %d, want the newest", v)
	}
	checkUsers(t, s, seed)
	checkRefresh(t, s, seed)
	checkCode(t, s, seed)
	checkSignIns(t, s, seed)
	s.Close()

	s, err = open() // a second open applies nothing and still works
	must(t, err)
	_, err = s.GetUserByUPN(ctx, seed.tenant, seed.upn)
	must(t, err)
	s.Close()

	exec(t, db, d, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, 'from_the_future', 0)`, 9999)
	if _, err := open(); err == nil {
		t.Fatal("open accepted a database whose schema is newer than the program")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func schemaVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	must(t, db.QueryRowContext(t.Context(), `SELECT MAX(version) FROM schema_migrations`).Scan(&v))
	return v
}

func exec(t *testing.T, db *sql.DB, d *sqlstore.Dialect, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), d.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}

func seedV1(t *testing.T, db *sql.DB, d *sqlstore.Dialect) v1 {
	s := v1{tenant: "t1", upn: "Old.User@contoso.test", userID: "u1", active: "rt-a2", rotated: "rt-a1",
		revoked: "rt-b1", familyB: "fam-b", codeHash: "code-1", codeFamily: "fam-c", codeRT: "rt-c1"}
	u := directory.User{ID: s.userID, TenantID: s.tenant, UserPrincipalName: s.upn, DisplayName: "Old", Version: 3}
	exec(t, db, d, `INSERT INTO docs (kind, tenant_id, id, lookup, ref, version, created, data)
		VALUES ('user', ?, ?, ?, NULL, 3, ?, ?)`, s.tenant, s.userID, strings.ToLower(s.upn), now.UnixMicro(), jsonOf(t, u))
	for _, rt := range []struct{ hash, family, status string }{
		{s.rotated, "fam-a", token.RefreshRotated}, {s.active, "fam-a", token.RefreshActive},
		{s.revoked, s.familyB, token.RefreshRevoked}, {s.codeRT, s.codeFamily, token.RefreshActive},
	} {
		v := token.RefreshToken{Hash: rt.hash, FamilyID: rt.family, Status: rt.status, Expires: now.Add(time.Hour)}
		exec(t, db, d, `INSERT INTO refresh_tokens (hash, family_id, status, expires, data) VALUES (?, ?, ?, ?, ?)`,
			rt.hash, rt.family, rt.status, v.Expires.UnixMicro(), jsonOf(t, v))
	}
	c := token.AuthCode{Hash: s.codeHash, TenantID: s.tenant, FamilyID: s.codeFamily, Expires: now.Add(time.Minute)}
	exec(t, db, d, `INSERT INTO auth_codes (hash, tenant_id, family_id, used, expires, data) VALUES (?, ?, ?, 0, ?, ?)`,
		c.Hash, c.TenantID, c.FamilyID, c.Expires.UnixMicro(), jsonOf(t, c))
	for i, user := range []string{"", s.userID} { // an app's sign-in, then the user's
		e := signinlog.Entry{ID: fmt.Sprintf("si-%d", i), CreatedDateTime: now.Add(time.Duration(i) * time.Minute), UserID: strings.ToUpper(user), AppID: "app"}
		var ref any
		if user != "" {
			ref = user
		}
		exec(t, db, d, `INSERT INTO docs (kind, tenant_id, id, lookup, ref, version, created, data)
			VALUES ('signIn', ?, ?, NULL, ?, 1, ?, ?)`, s.tenant, e.ID, ref, e.CreatedDateTime.UnixMicro(), jsonOf(t, e))
	}
	return s
}

// checkSignIns: the sign-in log, kept in docs until migration 4, is read from its own table,
// newest first, and by user.
func checkSignIns(t *testing.T, s store.Store, seed v1) {
	ctx := t.Context()
	all, err := s.ListSignIns(ctx, seed.tenant, signinlog.Filter{}, 10)
	must(t, err)
	if len(all) != 2 || all[0].ID != "si-1" || all[1].ID != "si-0" || !all[0].CreatedDateTime.Equal(now.Add(time.Minute)) {
		t.Fatalf("sign-ins after upgrade: %+v", all)
	}
	mine, err := s.ListSignIns(ctx, seed.tenant, signinlog.Filter{UserID: seed.userID}, 10)
	must(t, err)
	if len(mine) != 1 || mine[0].ID != "si-1" {
		t.Fatalf("the user's sign-ins after upgrade: %+v", mine)
	}
	must(t, s.AppendSignIn(ctx, seed.tenant, signinlog.Entry{ID: "si-2", CreatedDateTime: now}))
	if err := s.AppendSignIn(ctx, seed.tenant, signinlog.Entry{ID: "si-0", CreatedDateTime: now}); !errs.Is(err, errs.Exists) {
		t.Fatalf("an upgraded sign-in's id again: got %v, want Exists", err)
	}
}

func checkUsers(t *testing.T, s store.Store, seed v1) {
	ctx := t.Context()
	u, err := s.GetUserByUPN(ctx, seed.tenant, strings.ToUpper(seed.upn))
	must(t, err)
	if u.ID != seed.userID || u.Version != 3 || u.DisplayName != "Old" {
		t.Fatalf("user after upgrade: %+v", u)
	}
	u, err = s.UpdateUser(ctx, seed.tenant, seed.userID, func(u directory.User) (directory.User, error) {
		u.DisplayName = "New"
		return u, nil
	})
	must(t, err)
	if u.Version != 4 {
		t.Fatalf("update after upgrade: version %d, want 4", u.Version)
	}
	if err := s.CreateUser(ctx, directory.User{ID: "u2", TenantID: seed.tenant, UserPrincipalName: "old.user@CONTOSO.test"}); !errs.Is(err, errs.Exists) {
		t.Fatalf("a duplicate of an upgraded UPN: got %v, want Exists", err)
	}
}

// checkRefresh: families written before refresh_families existed keep their state.
func checkRefresh(t *testing.T, s store.Store, seed v1) {
	ctx := t.Context()
	_, err := s.RotateRefreshToken(ctx, seed.active, token.RefreshToken{Hash: "rt-a3", Expires: now.Add(time.Hour)}, now)
	must(t, err)
	_, err = s.RotateRefreshToken(ctx, seed.revoked, token.RefreshToken{Hash: "rt-b2"}, now)
	if !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("rotating a token revoked before the upgrade: got %v, want Unauthenticated", err)
	}
	err = s.CreateRefreshToken(ctx, token.RefreshToken{Hash: "rt-b3", FamilyID: seed.familyB, Expires: now.Add(time.Hour)})
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("a new token in a family revoked before the upgrade: got %v, want Conflict", err)
	}
	_, err = s.RotateRefreshToken(ctx, seed.rotated, token.RefreshToken{Hash: "rt-a4"}, now)
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("reusing a token rotated before the upgrade: got %v, want Conflict", err)
	}
	got, err := s.GetRefreshToken(ctx, "rt-a3")
	must(t, err)
	if got.Status != token.RefreshRevoked {
		t.Fatalf("after reuse the family's newest token is %q, want revoked", got.Status)
	}
}

func checkCode(t *testing.T, s store.Store, seed v1) {
	ctx := t.Context()
	_, err := s.RedeemAuthCode(ctx, seed.codeHash, now)
	must(t, err)
	_, err = s.RedeemAuthCode(ctx, seed.codeHash, now)
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("second redemption: got %v, want Conflict", err)
	}
	got, err := s.GetRefreshToken(ctx, seed.codeRT)
	must(t, err)
	if got.Status != token.RefreshRevoked {
		t.Fatalf("the replayed code's token is %q, want revoked", got.Status)
	}
}
