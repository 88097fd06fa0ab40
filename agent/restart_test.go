package agent

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/machineapi"
)

// TestRestartResendsUnacknowledgedStatus: the final status could not be delivered; after a
// restart it is sent, once, and the extension is not run again.
func TestRestartResendsUnacknowledgedStatus(t *testing.T) {
	cp := newFakeCP(t)
	cp.gs.Extensions = []machineapi.Extension{linuxExtension("g1")}
	cp.statusFail = 1
	r := newRig(t, cp)
	login := &fakeLogin{}
	step(t, r.follower(t, login, machineapi.Endpoints{}))
	if states := cp.states("AADSSHLoginForLinux"); !slices.Equal(states, []string{machineapi.ProvisioningCreating}) {
		t.Fatalf("before restart: %v", states)
	}
	p, _ := loadProgress(r.dir)
	if rec := p.Extensions["AADSSHLoginForLinux"]; rec == nil || !rec.Pending {
		t.Fatalf("the undelivered status is not kept: %+v", rec)
	}

	f := r.follower(t, login, machineapi.Endpoints{}) // the agent restarted
	step(t, f)
	step(t, f)
	states := cp.states("AADSSHLoginForLinux")
	if !slices.Equal(states, []string{machineapi.ProvisioningCreating, machineapi.ProvisioningSucceeded}) {
		t.Fatalf("after restart: %v", states)
	}
	if a, _, _ := login.counts(); a != 1 || cp.joins != 1 {
		t.Fatalf("applies %d, joins %d", a, cp.joins)
	}
}

// TestRestartMidExtension: the agent is stopped while the login setup runs (after Creating,
// before Succeeded); restarted, it completes the extension once and reuses the device.
func TestRestartMidExtension(t *testing.T) {
	cp := newFakeCP(t)
	cp.gs.Extensions = []machineapi.Extension{linuxExtension("g1")}
	r := newRig(t, cp)
	blocked := &fakeLogin{block: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.follower(t, blocked, machineapi.Endpoints{}).Step(ctx) }()
	<-blocked.block
	cancel()
	<-done
	if states := cp.states("AADSSHLoginForLinux"); !slices.Equal(states, []string{machineapi.ProvisioningCreating}) {
		t.Fatalf("while stopped: %v", states)
	}
	if p, _ := loadProgress(r.dir); p.Version != "" || p.Device == nil {
		t.Fatalf("stopped mid goal state: version %q applied, device %+v", p.Version, p.Device)
	}

	login := &fakeLogin{}
	f := r.follower(t, login, machineapi.Endpoints{})
	step(t, f)
	step(t, f)
	states := cp.states("AADSSHLoginForLinux")
	succeeded := 0
	for _, s := range states {
		if s == machineapi.ProvisioningSucceeded {
			succeeded++
		}
	}
	if succeeded != 1 || cp.joins != 1 || len(cp.devices) != 1 {
		t.Fatalf("states %v, joins %d, devices %d", states, cp.joins, len(cp.devices))
	}
	if a, c, _ := login.counts(); a != 1 || c != 1 {
		t.Fatalf("applies %d, confirms %d", a, c)
	}
}

// TestRunBacksOff: while the control plane is down the follower waits longer each time,
// within jitter of 1 s doubling to 30 s, and logs the outage once and the recovery once.
func TestRunBacksOff(t *testing.T) {
	cp := newFakeCP(t)
	r := newRig(t, cp)
	f := r.follower(t, &fakeLogin{}, machineapi.Endpoints{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	down, healthy := true, 0
	var waits []time.Duration
	cp.onPoll = func(string) {
		mu.Lock()
		defer mu.Unlock()
		if healthy++; healthy == 2 {
			cancel()
		}
	}
	f.c.http.Transport = failingTransport{f.c.http.Transport, &mu, &down}
	f.sleep = func(_ context.Context, d time.Duration) bool {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		if len(waits) == 8 {
			down = false
		}
		return true
	}
	f.Run(ctx)
	if len(waits) != 8 {
		t.Fatalf("waited %d times", len(waits))
	}
	for i, w := range waits {
		base := min(time.Second<<i, 30*time.Second)
		if w < base/2 || w >= base*3/2 {
			t.Errorf("wait %d was %v, want within jitter of %v", i, w, base)
		}
	}
	log := r.logBuf.String()
	if strings.Count(log, "cannot reach the control plane") != 1 || strings.Count(log, "answers again") != 1 {
		t.Fatalf("log:\n%s", log)
	}
}

// failingTransport refuses every request while *down.
type failingTransport struct {
	next interface {
		RoundTrip(*http.Request) (*http.Response, error)
	}
	mu   *sync.Mutex
	down *bool
}

func (ft failingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ft.mu.Lock()
	down := *ft.down
	ft.mu.Unlock()
	if down {
		return nil, errors.New("connection refused (test)")
	}
	return ft.next.RoundTrip(req)
}
