package authn

import (
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
)

var now0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestNewTemporaryAccessPass(t *testing.T) {
	for _, tc := range []struct {
		name         string
		tenant, user string
		life         time.Duration
	}{
		{"fail/lifetime-under-10m", "t", "u", 10*time.Minute - time.Second},
		{"fail/lifetime-over-30d", "t", "u", 30*24*time.Hour + time.Second},
		{"fail/zero-lifetime", "t", "u", 0},
		{"fail/no-user", "t", "", time.Hour},
		{"fail/no-tenant", "", "u", time.Hour},
	} {
		if _, _, err := NewTemporaryAccessPass(tc.tenant, tc.user, tc.life, true, now0); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: %v, want Invalid", tc.name, err)
		}
	}
	pass, tap, err := NewTemporaryAccessPass("t", "u", time.Hour, true, now0)
	if err != nil {
		t.Fatal(err)
	}
	raw := strings.ReplaceAll(pass, "-", "")
	if len(raw) != tapLen || strings.Trim(raw, tapAlphabet) != "" || len(tap.Hash) != 64 || strings.Contains(tap.Hash, raw) {
		t.Fatalf("pass %q hash %q", pass, tap.Hash)
	}
	if !tap.Start.Equal(now0) || !tap.End.Equal(now0.Add(time.Hour)) || !tap.OneTime || tap.ID == "" {
		t.Fatalf("%+v", tap)
	}
	other, _, _ := NewTemporaryAccessPass("t", "u", time.Hour, true, now0)
	if other == pass {
		t.Fatal("two passes are equal")
	}
}

func TestCheckTemporaryAccessPass(t *testing.T) {
	pass, tap, _ := NewTemporaryAccessPass("t", "u", time.Hour, true, now0)
	used := tap
	used.Used = true
	multi := used
	multi.OneTime = false
	for _, tc := range []struct {
		name string
		tap  TemporaryAccessPass
		pass string
		at   time.Time
		want errs.Kind
		ok   bool
	}{
		{name: "fail/wrong-pass", tap: tap, pass: "22222-22222-22222-22222", at: now0, want: errs.Unauthenticated},
		{name: "fail/empty-pass", tap: tap, pass: "", at: now0, want: errs.Unauthenticated},
		{name: "fail/pass-of-other-tap", tap: tap, pass: strings.ToUpper(pass[:len(pass)-1]) + "z", at: now0, want: errs.Unauthenticated},
		{name: "fail/wrong-pass-on-expired-tap-says-wrong", tap: tap, pass: "x", at: now0.Add(2 * time.Hour), want: errs.Unauthenticated},
		{name: "fail/over-long-input", tap: tap, pass: pass + strings.Repeat(" ", 200), at: now0, want: errs.Unauthenticated},
		{name: "fail/not-yet-valid", tap: tap, pass: pass, at: now0.Add(-time.Second), want: errs.Expired},
		{name: "fail/expired-at-end", tap: tap, pass: pass, at: now0.Add(time.Hour), want: errs.Expired},
		{name: "fail/one-time-used", tap: used, pass: pass, at: now0, want: errs.Conflict},
		{name: "ok/as-shown", tap: tap, pass: pass, at: now0, ok: true},
		{name: "ok/typed-upper-case-without-dashes", tap: tap, pass: strings.ToUpper(strings.ReplaceAll(pass, "-", "")), at: now0.Add(time.Hour - time.Second), ok: true},
		{name: "ok/multi-use-used-before", tap: multi, pass: pass, at: now0, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTemporaryAccessPass(tc.tap, tc.pass, tc.at)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errs.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
