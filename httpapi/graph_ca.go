package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// caBase is where Graph puts Conditional Access.
const caBase = "/v1.0/identity/conditionalAccess/"

// caCollection describes one Conditional Access collection, so policies, named locations
// and authentication strengths share one set of handlers. The store functions are method
// expressions on store.Store.
type caCollection[T any] struct {
	entitySet  string // the @odata.context fragment, e.g. "identity/conditionalAccess/policies"
	permission string // the directory collection whose actions guard it
	schema     filterSchema
	parse      func([]byte) (T, error) // strict Graph parsing and validation
	stamp      func(v *T, id string, created, modified time.Time)
	idOf       func(T) string
	createdOf  func(T) time.Time
	check      func(ctx context.Context, s *Server, tenantID string, v T) error // references; nil for none

	create func(store.Store, context.Context, string, T) error
	get    func(store.Store, context.Context, string, string) (T, error)
	list   func(store.Store, context.Context, string) ([]T, error)
	update func(store.Store, context.Context, string, string, func(T) (T, error)) (T, error)
	remove func(store.Store, context.Context, string, string) error

	builtIns func() []T // read-only members every tenant has; nil for none
}

// caRoutes registers list, create, get, update and delete for c under base.
func caRoutes[T any](s *Server, mux *http.ServeMux, base string, c caCollection[T]) {
	mux.HandleFunc("GET "+base, s.graph(c.listHandler(s)))
	mux.HandleFunc("POST "+base, s.graph(c.createHandler(s)))
	mux.HandleFunc("GET "+base+"/{id}", s.graph(c.getHandler(s)))
	mux.HandleFunc("PATCH "+base+"/{id}", s.graph(c.updateHandler(s)))
	mux.HandleFunc("DELETE "+base+"/{id}", s.graph(c.deleteHandler(s)))
}

// authorize checks microsoft.directory/<permission>/<verb> for every caller: unlike the user
// directory, Conditional Access configuration is not readable by ordinary users in Entra.
func (c caCollection[T]) authorize(ctx context.Context, s *Server, caller Caller, verb string) error {
	return s.authorizeDirectory(ctx, caller, directory.Action(c.permission, verb))
}

func (c caCollection[T]) listHandler(s *Server) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, caller Caller) error {
		const op = "httpapi.listConditionalAccess"
		if err := c.authorize(r.Context(), s, caller, directory.ActionRead); err != nil {
			return err
		}
		items, err := c.list(s.Store, r.Context(), caller.TenantID)
		if err != nil {
			return err
		}
		if c.builtIns != nil {
			items = append(c.builtIns(), items...)
		}
		objs, err := toObjects(op, items)
		if err != nil {
			return err
		}
		var zero T
		sample, err := toObject(op, zero)
		if err != nil {
			return err
		}
		q, err := parseGraphQuery(r, c.schema, firstOr(objs, sample))
		if err != nil {
			return err
		}
		s.writeGraphList(w, r, c.entitySet, objs, q)
		return nil
	}
}

func (c caCollection[T]) getHandler(s *Server) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, caller Caller) error {
		const op = "httpapi.getConditionalAccess"
		if err := c.authorize(r.Context(), s, caller, directory.ActionRead); err != nil {
			return err
		}
		id := r.PathValue("id")
		v, err := c.find(r.Context(), s, caller.TenantID, id)
		if err != nil {
			return asGraphError(op, id, err)
		}
		return c.write(w, r, s, http.StatusOK, v)
	}
}

// find returns a built-in member or a stored one.
func (c caCollection[T]) find(ctx context.Context, s *Server, tenantID, id string) (T, error) {
	if v, ok := c.builtIn(id); ok {
		return v, nil
	}
	return c.get(s.Store, ctx, tenantID, id)
}

// builtIn returns the built-in member with id, if c has one.
func (c caCollection[T]) builtIn(id string) (T, bool) {
	var zero T
	if c.builtIns == nil {
		return zero, false
	}
	for _, v := range c.builtIns() {
		if c.idOf(v) == id {
			return v, true
		}
	}
	return zero, false
}

func (c caCollection[T]) createHandler(s *Server) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, caller Caller) error {
		const op = "httpapi.createConditionalAccess"
		ctx := r.Context()
		if err := c.authorize(ctx, s, caller, directory.ActionCreate); err != nil {
			return err
		}
		body, err := readGraphBody(r)
		if err != nil {
			return err
		}
		v, err := c.parse(body)
		if err != nil {
			return asGraphError(op, "", err)
		}
		c.stamp(&v, newID(), s.now(), time.Time{})
		if err := c.checkRefs(ctx, s, caller.TenantID, v); err != nil {
			return err
		}
		if err := c.create(s.Store, ctx, caller.TenantID, v); err != nil {
			return err
		}
		return c.write(w, r, s, http.StatusCreated, v)
	}
}

func (c caCollection[T]) checkRefs(ctx context.Context, s *Server, tenantID string, v T) error {
	if c.check == nil {
		return nil
	}
	return c.check(ctx, s, tenantID, v)
}

func (c caCollection[T]) updateHandler(s *Server) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, caller Caller) error {
		const op = "httpapi.updateConditionalAccess"
		ctx, id := r.Context(), r.PathValue("id")
		if err := c.authorize(ctx, s, caller, directory.ActionUpdate); err != nil {
			return err
		}
		if _, ok := c.builtIn(id); ok {
			return graphBadRequest(op, "A built-in authentication strength cannot be changed.")
		}
		patch, err := readGraphPatch(r)
		if err != nil {
			return err
		}
		_, err = c.update(s.Store, ctx, caller.TenantID, id, func(old T) (T, error) {
			return c.patched(ctx, s, caller.TenantID, old, patch)
		})
		if err != nil {
			return asGraphError(op, id, err)
		}
		noContent(w)
		return nil
	}
}

// patched applies a Graph PATCH: the given top-level properties replace the stored ones, and
// the result is parsed and checked again as a whole, so a PATCH can break no rule a POST keeps.
func (c caCollection[T]) patched(ctx context.Context, s *Server, tenantID string, old T, patch map[string]json.RawMessage) (T, error) {
	var zero T
	doc, err := objectOf(old)
	if err != nil {
		return zero, err
	}
	for k, v := range patch {
		doc[k] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return zero, errs.E("httpapi.patchConditionalAccess", errs.Internal, err)
	}
	nv, err := c.parse(b)
	if err != nil {
		return zero, err
	}
	c.stamp(&nv, c.idOf(old), c.createdOf(old), s.now())
	return nv, c.checkRefs(ctx, s, tenantID, nv)
}

func (c caCollection[T]) deleteHandler(s *Server) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, caller Caller) error {
		const op = "httpapi.deleteConditionalAccess"
		ctx, id := r.Context(), r.PathValue("id")
		if err := c.authorize(ctx, s, caller, directory.ActionDelete); err != nil {
			return err
		}
		if _, ok := c.builtIn(id); ok {
			return graphBadRequest(op, "A built-in authentication strength cannot be deleted.")
		}
		if err := c.remove(s.Store, ctx, caller.TenantID, id); err != nil {
			return asGraphError(op, id, err)
		}
		noContent(w)
		return nil
	}
}

func (c caCollection[T]) write(w http.ResponseWriter, r *http.Request, s *Server, status int, v T) error {
	obj, err := toObject("httpapi.writeConditionalAccess", v)
	if err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, status, c.entitySet, obj)
}

// readGraphBody reads a request body whole, capped, for the strict conditional parsers.
func readGraphBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, graphBadRequest("httpapi.readGraphBody", "The request body could not be read or is larger than 64 KiB.")
	}
	return b, nil
}

// readGraphPatch reads a PATCH body: a JSON object of the properties to replace.
func readGraphPatch(r *http.Request) (map[string]json.RawMessage, error) {
	var patch map[string]json.RawMessage
	if err := readGraphJSON(r, &patch); err != nil {
		return nil, err
	}
	if patch == nil {
		return nil, graphBadRequest("httpapi.readGraphPatch", "The request body must be a JSON object of the properties to change.")
	}
	return patch, nil
}

// objectOf is v's JSON as raw properties.
func objectOf(v any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errs.E("httpapi.objectOf", errs.Internal, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errs.E("httpapi.objectOf", errs.Internal, err)
	}
	return m, nil
}

// toObject is v's JSON as a generic object, the shape the list and entity writers take.
func toObject(op string, v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	return m, nil
}

func toObjects[T any](op string, items []T) ([]map[string]any, error) {
	objs := make([]map[string]any, len(items))
	for i, v := range items {
		o, err := toObject(op, v)
		if err != nil {
			return nil, err
		}
		objs[i] = o
	}
	return objs, nil
}

// firstOr is the sample object $select is checked against: the first listed, else fallback.
func firstOr(objs []map[string]any, fallback map[string]any) map[string]any {
	if len(objs) == 0 {
		return fallback
	}
	return objs[0]
}
