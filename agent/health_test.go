package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestHealth: a step error of the last minutes makes the machine unhealthy and is named; an
// older one, or none, is healthy; an unreadable state directory is unhealthy.
func TestHealth(t *testing.T) {
	dir := t.TempDir()
	if h := (&Client{stateDir: dir}).health(); h.Status != "Unhealthy" || len(h.Problems) != 1 {
		t.Fatalf("fail/no-state: %+v", h)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := save(dir, State{MachineID: "m", TenantID: "t"}, key); err != nil {
		t.Fatal(err)
	}
	c := &Client{stateDir: dir}
	if h := c.health(); h.Status != "Healthy" || len(h.Problems) != 0 {
		t.Fatalf("ok/no-errors: %+v", h)
	}
	f := &Follower{dir: dir, now: func() time.Time { return time.Now().Add(-2 * healthWindow) }, log: quietLogger()}
	f.noteError("goalstate", errors.New("control plane unreachable"))
	if h := c.health(); h.Status != "Healthy" {
		t.Fatalf("ok/old-error: %+v", h)
	}
	f.now = time.Now
	f.noteError("device", errors.New("registration endpoint unreachable"))
	if h := c.health(); h.Status != "Unhealthy" || len(h.Problems) != 1 || !strings.HasPrefix(h.Problems[0], "device: ") {
		t.Fatalf("fail/recent-error: %+v", h)
	}
}
