package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHealth: a step error of the last minutes makes the machine unhealthy and is named; an
// older one, or none, is healthy; unreadable progress is unhealthy.
func TestHealth(t *testing.T) {
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "goalstate.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if h := (&Client{stateDir: bad}).health(); h.Status != "Unhealthy" || len(h.Problems) != 1 {
		t.Fatalf("fail/unreadable-progress: %+v", h)
	}
	dir := t.TempDir()
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
