package sqlstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store"
)

// tenantDoc wraps a Conditional Access object, whose Graph JSON has no tenant, for the docs
// table: Value is kept exactly as its canonical JSON.
type tenantDoc[T any] struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
	Value    T      `json:"value"`
}

// caKind stores one Conditional Access type; idOf points at the id inside the Graph object.
type caKind[T any] struct {
	docKind[tenantDoc[T]]
	idOf func(*T) *string
}

func newCAKind[T any](name, what string, idOf func(*T) *string) caKind[T] {
	return caKind[T]{idOf: idOf, docKind: docKind[tenantDoc[T]]{
		name: name, what: what,
		ids:   func(d *tenantDoc[T]) (*string, *string) { return &d.TenantID, &d.ID },
		key:   func(tenantDoc[T]) string { return "" },
		ref:   func(tenantDoc[T]) string { return "" },
		stamp: func(*tenantDoc[T], int64, time.Time) {},
		exists: func(d tenantDoc[T]) string {
			return "A " + what + " with id " + d.ID + " already exists."
		},
	}}
}

var (
	caPolicies = newCAKind("conditionalAccessPolicy", "Conditional Access policy",
		func(p *conditional.Policy) *string { return &p.ID })
	caLocations = newCAKind("namedLocation", "named location",
		func(l *conditional.NamedLocation) *string { return &l.ID })
	caStrengths = newCAKind("authenticationStrength", "authentication strength",
		func(s *conditional.Strength) *string { return &s.ID })
)

func (k caKind[T]) add(ctx context.Context, s *Store, op, tenantID string, v T) error {
	id := *k.idOf(&v)
	if id == "" {
		return errs.Errorf(op, errs.Invalid, "The %s has no id.", k.what)
	}
	return k.create(ctx, s, op, tenantDoc[T]{TenantID: tenantID, ID: id, Value: v})
}

func (k caKind[T]) one(ctx context.Context, s *Store, op, tenantID, id string) (T, error) {
	d, err := k.get(ctx, s, op, tenantID, id)
	return d.Value, err
}

func (k caKind[T]) all(ctx context.Context, s *Store, op, tenantID string) ([]T, error) {
	docs, err := k.list(ctx, s, op, tenantID, "")
	if err != nil {
		return nil, err
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i] = d.Value
	}
	return out, nil
}

// change runs fn on the stored value and puts the id back, so fn cannot rename the object.
func (k caKind[T]) change(ctx context.Context, s *Store, op, tenantID, id string, fn func(T) (T, error)) (T, error) {
	d, err := k.update(ctx, s, op, tenantID, id, func(old tenantDoc[T]) (tenantDoc[T], error) {
		nv, err := fn(old.Value)
		*k.idOf(&nv) = id
		old.Value = nv
		return old, err
	})
	return d.Value, err
}

// CreateConditionalAccessPolicy stores p under its id.
func (s *Store) CreateConditionalAccessPolicy(ctx context.Context, tenantID string, p conditional.Policy) error {
	return caPolicies.add(ctx, s, "store.CreateConditionalAccessPolicy", tenantID, p)
}

// GetConditionalAccessPolicy fails with NotFound when there is no such policy.
func (s *Store) GetConditionalAccessPolicy(ctx context.Context, tenantID, id string) (conditional.Policy, error) {
	return caPolicies.one(ctx, s, "store.GetConditionalAccessPolicy", tenantID, id)
}

// ListConditionalAccessPolicies returns the tenant's policies, oldest first.
func (s *Store) ListConditionalAccessPolicies(ctx context.Context, tenantID string) ([]conditional.Policy, error) {
	return caPolicies.all(ctx, s, "store.ListConditionalAccessPolicies", tenantID)
}

// UpdateConditionalAccessPolicy is compare-and-swap; the id stays.
func (s *Store) UpdateConditionalAccessPolicy(ctx context.Context, tenantID, id string, fn func(conditional.Policy) (conditional.Policy, error)) (conditional.Policy, error) {
	return caPolicies.change(ctx, s, "store.UpdateConditionalAccessPolicy", tenantID, id, fn)
}

// DeleteConditionalAccessPolicy fails with NotFound when there is no such policy.
func (s *Store) DeleteConditionalAccessPolicy(ctx context.Context, tenantID, id string) error {
	return caPolicies.remove(ctx, s.c, "store.DeleteConditionalAccessPolicy", tenantID, id)
}

// CreateNamedLocation stores l under its id.
func (s *Store) CreateNamedLocation(ctx context.Context, tenantID string, l conditional.NamedLocation) error {
	return caLocations.add(ctx, s, "store.CreateNamedLocation", tenantID, l)
}

// GetNamedLocation fails with NotFound when there is no such location.
func (s *Store) GetNamedLocation(ctx context.Context, tenantID, id string) (conditional.NamedLocation, error) {
	return caLocations.one(ctx, s, "store.GetNamedLocation", tenantID, id)
}

// ListNamedLocations returns the tenant's named locations, oldest first.
func (s *Store) ListNamedLocations(ctx context.Context, tenantID string) ([]conditional.NamedLocation, error) {
	return caLocations.all(ctx, s, "store.ListNamedLocations", tenantID)
}

// UpdateNamedLocation is compare-and-swap; the id stays.
func (s *Store) UpdateNamedLocation(ctx context.Context, tenantID, id string, fn func(conditional.NamedLocation) (conditional.NamedLocation, error)) (conditional.NamedLocation, error) {
	return caLocations.change(ctx, s, "store.UpdateNamedLocation", tenantID, id, fn)
}

// DeleteNamedLocation fails with Conflict while a policy names the location. The check and
// the delete are separate statements: a policy written between them may name a location that
// is gone, which evaluation treats as matching no address.
func (s *Store) DeleteNamedLocation(ctx context.Context, tenantID, id string) error {
	const op = "store.DeleteNamedLocation"
	if err := s.refuseIfNamed(ctx, op, tenantID, id, "named location", locationsOf); err != nil {
		return err
	}
	return caLocations.remove(ctx, s.c, op, tenantID, id)
}

// CreateAuthenticationStrength stores a custom strength under its id.
func (s *Store) CreateAuthenticationStrength(ctx context.Context, tenantID string, st conditional.Strength) error {
	return caStrengths.add(ctx, s, "store.CreateAuthenticationStrength", tenantID, st)
}

// GetAuthenticationStrength fails with NotFound when there is no such custom strength.
func (s *Store) GetAuthenticationStrength(ctx context.Context, tenantID, id string) (conditional.Strength, error) {
	return caStrengths.one(ctx, s, "store.GetAuthenticationStrength", tenantID, id)
}

// ListAuthenticationStrengths returns the tenant's custom strengths, oldest first.
func (s *Store) ListAuthenticationStrengths(ctx context.Context, tenantID string) ([]conditional.Strength, error) {
	return caStrengths.all(ctx, s, "store.ListAuthenticationStrengths", tenantID)
}

// UpdateAuthenticationStrength is compare-and-swap; the id stays.
func (s *Store) UpdateAuthenticationStrength(ctx context.Context, tenantID, id string, fn func(conditional.Strength) (conditional.Strength, error)) (conditional.Strength, error) {
	return caStrengths.change(ctx, s, "store.UpdateAuthenticationStrength", tenantID, id, fn)
}

// DeleteAuthenticationStrength fails with Conflict while a policy requires the strength, with
// the same caveat as DeleteNamedLocation.
func (s *Store) DeleteAuthenticationStrength(ctx context.Context, tenantID, id string) error {
	const op = "store.DeleteAuthenticationStrength"
	if err := s.refuseIfNamed(ctx, op, tenantID, id, "authentication strength", strengthsOf); err != nil {
		return err
	}
	return caStrengths.remove(ctx, s.c, op, tenantID, id)
}

// refuseIfNamed returns Conflict naming the first policy whose refs include id.
func (s *Store) refuseIfNamed(ctx context.Context, op, tenantID, id, what string, refs func(conditional.Policy) []string) error {
	policies, err := caPolicies.all(ctx, s, op, tenantID)
	if err != nil {
		return err
	}
	for _, p := range policies {
		if slices.ContainsFunc(refs(p), func(r string) bool { return strings.EqualFold(r, id) }) {
			return errs.Errorf(op, errs.Conflict, "The %s %q is used by the Conditional Access policy %q (%s); change the policy first.", what, id, p.DisplayName, p.ID)
		}
	}
	return nil
}

// locationsOf lists the location ids a policy includes or excludes.
func locationsOf(p conditional.Policy) []string {
	l := p.Conditions.Locations
	if l == nil {
		return nil
	}
	return append(slices.Clone(l.IncludeLocations), l.ExcludeLocations...)
}

// strengthsOf lists the strength a policy's grant controls require, if any.
func strengthsOf(p conditional.Policy) []string {
	if g := p.GrantControls; g != nil && g.AuthenticationStrength != nil {
		return []string{g.AuthenticationStrength.ID}
	}
	return nil
}

var _ store.ConditionalStore = (*Store)(nil)

// Sign-in log entries live in the sign_ins table (migration 4), not in docs: one is written
// per token issuance, and there each costs fewer index entries. Its created column holds the
// entry's CreatedDateTime, so the log is ordered and bounded by when the sign-in happened, and
// its user_id column the lower-case user id, NULL for an app's sign-in.

// AppendSignIn adds e to the tenant's log; Invalid without an id or time, Exists when the id
// is taken.
func (s *Store) AppendSignIn(ctx context.Context, tenantID string, e signinlog.Entry) error {
	const op = "store.AppendSignIn"
	if e.ID == "" || e.CreatedDateTime.IsZero() {
		return errs.E(op, errs.Invalid, "A sign-in log entry needs an id and a createdDateTime.")
	}
	data, err := encodeSignIn(op, nil, &e)
	if err != nil {
		return err
	}
	_, err = s.c.exec(ctx, signInInsert(1), tenantID, e.ID, nullable(strings.ToLower(e.UserID)), micros(e.CreatedDateTime), string(data))
	return s.d.wrap(op, err, "A sign-in log entry with id "+e.ID+" already exists.")
}

// ListSignIns returns up to limit entries passing f, newest first. The time bounds and the
// user id narrow the query; Match decides the rest, so it stays the one meaning of a filter.
func (s *Store) ListSignIns(ctx context.Context, tenantID string, f signinlog.Filter, limit int) ([]signinlog.Entry, error) {
	return s.listSignIns(ctx, "store.ListSignIns", tenantID, f, limit, func(data string, e *signinlog.Entry) error {
		return unmarshal("store.ListSignIns", data, e)
	})
}

// signInSummary is the part of an entry ListSignInSummaries decodes; encoding/json skips the
// rest (applied policies, authentication details) without building it.
type signInSummary struct {
	ID                string           `json:"id"`
	CreatedDateTime   time.Time        `json:"createdDateTime"`
	UserPrincipalName string           `json:"userPrincipalName"`
	UserID            string           `json:"userId"`
	AppID             string           `json:"appId"`
	IPAddress         string           `json:"ipAddress"`
	Status            signinlog.Status `json:"status"`
}

// ListSignInSummaries is ListSignIns decoding only each entry's id, time, user, app, address
// and status.
func (s *Store) ListSignInSummaries(ctx context.Context, tenantID string, f signinlog.Filter, limit int) ([]signinlog.Entry, error) {
	const op = "store.ListSignInSummaries"
	return s.listSignIns(ctx, op, tenantID, f, limit, func(data string, e *signinlog.Entry) error {
		var sum signInSummary
		if err := unmarshal(op, data, &sum); err != nil {
			return err
		}
		*e = signinlog.Entry{ID: sum.ID, CreatedDateTime: sum.CreatedDateTime, UserPrincipalName: sum.UserPrincipalName,
			UserID: sum.UserID, AppID: sum.AppID, IPAddress: sum.IPAddress, Status: sum.Status}
		return nil
	})
}

// listSignIns runs the filter's query and decodes each row with decode until limit entries
// pass the filter.
func (s *Store) listSignIns(ctx context.Context, op, tenantID string, f signinlog.Filter, limit int, decode func(string, *signinlog.Entry) error) ([]signinlog.Entry, error) {
	if limit <= 0 || limit > store.MaxSignInList {
		limit = store.MaxSignInList
	}
	q, args := signInQuery(tenantID, f)
	rows, err := s.c.query(ctx, q, args...)
	if err != nil {
		return nil, s.d.wrap(op, err, "")
	}
	defer rows.Close()
	out := []signinlog.Entry{}
	for len(out) < limit && rows.Next() {
		var data string
		var e signinlog.Entry
		if err := rows.Scan(&data); err != nil {
			return nil, s.d.wrap(op, err, "")
		}
		if err := decode(data, &e); err != nil {
			return nil, err
		}
		if f.Match(e) {
			out = append(out, e)
		}
	}
	return out, s.d.wrap(op, rows.Err(), "")
}

// DeleteSignInsBefore removes the tenant's entries older than before, through the
// (tenant_id, created) index.
func (s *Store) DeleteSignInsBefore(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	const op = "store.DeleteSignInsBefore"
	n, err := s.c.exec(ctx, `DELETE FROM sign_ins WHERE tenant_id = ? AND created < ?`,
		tenantID, micros(before.Truncate(time.Microsecond)))
	if err != nil {
		return 0, s.d.wrap(op, err, "")
	}
	return n, nil
}

// signInQuery selects a tenant's entries, newest first, narrowed by what the columns can say.
func signInQuery(tenantID string, f signinlog.Filter) (string, []any) {
	q := `SELECT data FROM sign_ins WHERE tenant_id = ?`
	args := []any{tenantID}
	if f.UserID != "" {
		q += ` AND user_id = ?`
		args = append(args, strings.ToLower(f.UserID))
	}
	if !f.From.IsZero() {
		q += ` AND created >= ?`
		args = append(args, micros(f.From.Truncate(time.Microsecond)))
	}
	if !f.To.IsZero() {
		q += ` AND created < ?`
		args = append(args, micros(f.To)+1)
	}
	return q + ` ORDER BY created DESC, id DESC`, args
}
