package httpapi

import (
	"regexp"
	"testing"
	"time"
)

var guidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Sign-in ids are version 7 GUIDs: later sign-ins sort after earlier ones, ids of one
// millisecond still differ.
func TestSignInID(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name          string
		before, after time.Time
	}{
		{"ok/a-millisecond-later", t0, t0.Add(time.Millisecond)},
		{"ok/a-year-later", t0, t0.AddDate(1, 0, 0)},
		{"ok/from-the-epoch", time.Unix(0, 0), t0},
		{"ok/before-the-epoch-counts-as-the-epoch", time.Unix(-5, 0), time.Unix(0, int64(time.Millisecond))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := signInID(c.before), signInID(c.after)
			if !guidV7.MatchString(a) || !guidV7.MatchString(b) {
				t.Fatalf("not version 7 GUIDs: %s %s", a, b)
			}
			if a >= b {
				t.Fatalf("%s (%v) does not sort before %s (%v)", a, c.before, b, c.after)
			}
		})
	}
	t.Run("ok/same-millisecond-distinct", func(t *testing.T) {
		seen := map[string]bool{}
		for range 1000 {
			id := signInID(t0)
			if seen[id] || id[:13] != signInID(t0)[:13] {
				t.Fatalf("id %s repeated or its time part differs", id)
			}
			seen[id] = true
		}
	})
}
