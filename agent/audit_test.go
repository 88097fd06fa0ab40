package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/machineapi"
)

// loginsServer is a control plane's PathLogins that refuses while down and keeps each event
// id once, as the real one does.
type loginsServer struct {
	mu      sync.Mutex
	down    bool
	calls   int
	batches [][]machineapi.LoginEvent
	seen    map[string]int
}

func (s *loginsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if r.URL.Path != machineapi.PathLogins || r.Method != http.MethodPost || r.Header.Get("Authorization") == "" {
		http.Error(w, `{"error":{"code":"NotFound"}}`, http.StatusNotFound)
		return
	}
	if s.down {
		http.Error(w, `{"error":{"code":"ServiceUnavailable"}}`, http.StatusServiceUnavailable)
		return
	}
	var body struct{ Value []machineapi.LoginEvent }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Value) > maxShipBatch {
		http.Error(w, `{"error":{"code":"BadRequest"}}`, http.StatusBadRequest)
		return
	}
	s.batches = append(s.batches, body.Value)
	for _, ev := range body.Value {
		s.seen[ev.ID]++
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestAuditShipping(t *testing.T) {
	srv := &loginsServer{down: true, seen: map[string]int{}}
	hs := httptest.NewTLSServer(srv)
	defer hs.Close()
	c, err := NewClient(State{Server: hs.URL, MachineID: "m", TenantID: testTenant, Audience: hs.URL + "/machines"}, newKey(t), hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(t.TempDir(), auditSpoolFile)
	a := newAuditLog(spool, c, quietLogger(), false)
	var ids []string
	for i := range 150 {
		ev := machineapi.LoginEvent{ID: newEventID(), Time: testNow.Add(time.Duration(i) * time.Second), User: "alice@contoso.test", Reason: "r"}
		ids = append(ids, ev.ID)
		a.record(ev)
	}
	ctx := context.Background()
	t.Run("fail/control-plane-down-keeps-spool", func(t *testing.T) {
		if err := a.shipOnce(ctx); err == nil {
			t.Fatal("shipping to a refusing control plane succeeded")
		}
		if evs, lines, _ := a.pending(1000); len(evs) != 150 || lines != 150 {
			t.Fatalf("spool holds %d events after a failed send, want 150", len(evs))
		}
	})
	t.Run("ok/restart-then-ship-once-in-batches", func(t *testing.T) {
		srv.mu.Lock()
		srv.down = false
		srv.mu.Unlock()
		restarted := newAuditLog(spool, c, quietLogger(), false) // a new agent run finds the spool
		if err := restarted.shipOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if err := restarted.shipOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(srv.batches) != 2 || len(srv.batches[0]) != maxShipBatch || len(srv.batches[1]) != 50 {
			t.Fatalf("batches %d", len(srv.batches))
		}
		var got []string
		for _, b := range srv.batches {
			for _, ev := range b {
				got = append(got, ev.ID)
			}
		}
		if !slices.Equal(got, ids) {
			t.Fatal("events shipped out of order or not all")
		}
		for id, n := range srv.seen {
			if n != 1 {
				t.Fatalf("event %s sent %d times", id, n)
			}
		}
		if evs, lines, _ := restarted.pending(10); len(evs) != 0 || lines != 0 {
			t.Fatalf("spool not empty after shipping: %d", len(evs))
		}
	})
}

func TestLoginCacheSurvivesRestart(t *testing.T) {
	clock := &fakeClock{t: testNow}
	lg := newTestLogin(t, clock)
	c := &loginCache{Login: machineapi.Login{TTLSeconds: 900, Users: []machineapi.LoginUser{loginUser(aliceOID, "alice@contoso.test", false)}},
		ConfirmedAt: testNow, ResourceID: testVM}
	if err := lg.setCache(c); err != nil {
		t.Fatal(err)
	}
	clock.t = testNow.Add(time.Minute)
	if err := lg.Confirm(clock.t); err != nil {
		t.Fatal(err)
	}
	again, err := NewLogin(LoginOptions{StateDir: lg.o.StateDir, Command: lg.o.Command, Logger: quietLogger(), Now: clock.now, NoSyslog: true})
	if err != nil {
		t.Fatal(err)
	}
	got := again.snapshot()
	if got == nil || !got.ConfirmedAt.Equal(testNow.Add(time.Minute)) || len(got.Login.Users) != 1 || got.ResourceID != testVM {
		t.Fatalf("cache after restart %+v", got)
	}
	t.Run("ok/confirm-writes-at-most-every-few-seconds", func(t *testing.T) {
		first := clock.t.Add(time.Second)
		clock.t = first
		again.Confirm(clock.t) // the first since the restart is written
		clock.t = clock.t.Add(time.Second)
		again.Confirm(clock.t)
		if c, _ := loadCache(again.cachePath()); !c.ConfirmedAt.Equal(first) {
			t.Fatalf("confirmation a second later was written: %v", c.ConfirmedAt)
		}
	})
}

func TestAuditRecordsOneLoginOnce(t *testing.T) {
	clock := &fakeClock{t: testNow}
	a := newAuditLog(filepath.Join(t.TempDir(), auditSpoolFile), nil, quietLogger(), false)
	a.now = clock.now
	ev := func() machineapi.LoginEvent {
		return machineapi.LoginEvent{ID: newEventID(), User: "alice@contoso.test", KeyID: "corr=c,tid=t,oid=o,upn=u", Serial: 7, Allowed: true}
	}
	a.record(ev())
	a.record(ev()) // sshd's second call for the same login
	clock.t = clock.t.Add(time.Minute)
	a.record(ev()) // a new login with the same certificate
	refused := ev()
	refused.KeyID = ""
	a.record(refused)
	a.record(refused) // no key id: nothing says it is the same login
	if evs, _, _ := a.pending(10); len(evs) != 4 {
		t.Fatalf("%d events recorded, want 4", len(evs))
	}
}
