package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Machines follow their goal state by long-poll, so a change must reach the waiting requests
// at once. The notifier keeps, per tenant, a generation number and a channel that is closed
// (and replaced) whenever the generation moves: a waiter takes the channel before it computes
// the goal state, so a change made between its computation and its wait still wakes it.
// The notifier is one process's view: changes made through another replica sharing the
// database are picked up by the waiters' periodic recomputation (goalStateRecheck).

// changeNotifier is the per-tenant generation counter and broadcast. The zero value is ready.
// Thousands of woken waiters read it at once, so reading takes no lock: each tenant's current
// generation and channel are one immutable snapshot behind an atomic pointer.
type changeNotifier struct {
	tenants sync.Map // lower-case tenant id → *tenantChanges
}

type tenantChanges struct {
	mu  sync.Mutex // one bump at a time
	cur atomic.Pointer[changeSnapshot]
}

type changeSnapshot struct {
	gen  uint64
	wake chan struct{}
}

// entry returns the tenant's record, making it on first use.
func (n *changeNotifier) entry(tenantID string) *tenantChanges {
	k := strings.ToLower(tenantID)
	if t, ok := n.tenants.Load(k); ok {
		return t.(*tenantChanges)
	}
	t := &tenantChanges{}
	t.cur.Store(&changeSnapshot{wake: make(chan struct{})})
	v, _ := n.tenants.LoadOrStore(k, t)
	return v.(*tenantChanges)
}

// watch returns the tenant's generation and a channel closed at its next change.
func (n *changeNotifier) watch(tenantID string) (uint64, <-chan struct{}) {
	c := n.entry(tenantID).cur.Load()
	return c.gen, c.wake
}

// bump records a change in the tenant and wakes everyone watching it.
func (n *changeNotifier) bump(tenantID string) {
	if tenantID == "" {
		return
	}
	t := n.entry(tenantID)
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cur.Load()
	t.cur.Store(&changeSnapshot{gen: old.gen + 1, wake: make(chan struct{})})
	close(old.wake)
}

// changeNote travels in a request's context: authentication names the tenant in it, and the
// response writer bumps that tenant's generation when a mutating request succeeds.
type changeNote struct {
	mu     sync.Mutex
	tenant string
}

type changeNoteKey struct{}

// noteTenant tells the change hook which tenant the request acts in. Outside withChangeNotes
// it does nothing.
func noteTenant(ctx context.Context, tenantID string) {
	if n, ok := ctx.Value(changeNoteKey{}).(*changeNote); ok {
		n.mu.Lock()
		n.tenant = tenantID
		n.mu.Unlock()
	}
}

// withChangeNotes is the one hook through which the ARM, Graph and machine APIs announce
// changes: a request other than GET, HEAD or OPTIONS that is answered below 400 bumps the
// generation of the tenant its caller authenticated in. The bump happens when the status is
// written, before the client can read the answer, so a client that reads the goal state after
// its write never races the notification.
func (s *Server) withChangeNotes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		n := &changeNote{}
		cw := &changeWriter{ResponseWriter: w, s: s, note: n}
		next.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), changeNoteKey{}, n)))
	})
}

// changeWriter bumps the noted tenant's generation on the first successful status.
type changeWriter struct {
	http.ResponseWriter
	s       *Server
	note    *changeNote
	written bool
}

func (c *changeWriter) WriteHeader(code int) {
	if !c.written {
		c.written = true
		if code < 400 {
			c.note.mu.Lock()
			tenant := c.note.tenant
			c.note.mu.Unlock()
			c.s.changes.bump(tenant)
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *changeWriter) Write(b []byte) (int, error) {
	if !c.written {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *changeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
