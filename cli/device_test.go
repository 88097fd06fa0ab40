package cli

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDeviceCodePolling(t *testing.T) {
	s := time.Second
	cases := []struct {
		name   string
		script []string
		code   int
		want   string
		sleeps []time.Duration
	}{
		{"ok/immediately", nil, 0, "", []time.Duration{5 * s}},
		{"ok/pending-then-done", []string{"authorization_pending", "authorization_pending", ""}, 0, "",
			[]time.Duration{5 * s, 5 * s, 5 * s}},
		{"ok/slow-down-adds-five-seconds", []string{"authorization_pending", "slow_down", "authorization_pending", "slow_down", ""}, 0, "",
			[]time.Duration{5 * s, 5 * s, 10 * s, 10 * s, 15 * s}},
		{"fail/expired-token", []string{"authorization_pending", "expired_token"}, 1,
			"ERROR: The code expired before the sign-in was completed. Run 'latch login --use-device-code' again.\n",
			[]time.Duration{5 * s, 5 * s}},
		{"fail/declined", []string{"authorization_declined"}, 1, "ERROR: The sign-in was declined.", []time.Duration{5 * s}},
		{"fail/other-error-stops", []string{"invalid_grant", ""}, 1, "ERROR: (invalid_grant)", []time.Duration{5 * s}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.idp.deviceScript = tc.script
			res := h.run("login", "--server", h.idp.url(), "--ca-file", h.idp.caFile, "--use-device-code", "-o", "none")
			errLines := strings.SplitN(res.stderr, "\n", 2)
			if res.code != tc.code || (tc.want != "" && !strings.HasPrefix(errLines[1], tc.want)) {
				t.Errorf("exit %d, stderr %q", res.code, res.stderr)
			}
			if !reflect.DeepEqual(h.sleeps, tc.sleeps) {
				t.Errorf("waits = %v, want %v", h.sleeps, tc.sleeps)
			}
		})
	}
}

// TestDeviceCodeGivesUpAtExpiry checks that polling stops once expires_in has passed even
// if the server keeps saying "pending".
func TestDeviceCodeGivesUpAtExpiry(t *testing.T) {
	h := newHarness(t)
	script := make([]string, 1000)
	for i := range script {
		script[i] = "authorization_pending"
	}
	h.idp.deviceScript = script
	var out, errb strings.Builder
	a := newApp(strings.NewReader(""), &out, &errb, func(string) string { return "" })
	clock := time.Now()
	a.now = func() time.Time { return clock }
	polls := 0
	a.sleep = func(_ context.Context, d time.Duration) error { clock = clock.Add(d); polls++; return nil }
	c, _ := a.newClient(h.idp.caFile)
	_, err := a.pollDeviceCode(t.Context(), c, h.idp.url()+"/"+homeTenant+"/oauth2/v2.0/token",
		&deviceCode{DeviceCode: "d", ExpiresIn: 60, Interval: 5})
	if err != errDeviceCodeExpired || polls != 12 {
		t.Errorf("err %v after %d polls; want expiry after 12", err, polls)
	}
}
