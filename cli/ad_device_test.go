package cli

import (
	"strings"
	"testing"
)

// addFakeDevices gives the fake Graph a devices collection: two machines named vm1 (Entra
// allows that) and one win1.
func addFakeDevices(h *harness) map[string]map[string]any {
	g := h.idp.graph
	g.mu.Lock()
	defer g.mu.Unlock()
	devs := map[string]map[string]any{}
	for _, d := range []struct{ id, deviceID, name, os string }{
		{"11111111-1111-4111-8111-111111111111", "aaaaaaaa-1111-4111-8111-111111111111", "vm1", "Linux"},
		{"22222222-2222-4222-8222-222222222222", "bbbbbbbb-2222-4222-8222-222222222222", "vm1", "Linux"},
		{"33333333-3333-4333-8333-333333333333", "cccccccc-3333-4333-8333-333333333333", "win1", "Windows"},
	} {
		devs[d.id] = map[string]any{"id": d.id, "deviceId": d.deviceID, "displayName": d.name,
			"operatingSystem": d.os, "trustType": "AzureAd"}
	}
	g.objects["devices"] = devs
	return devs
}

func TestADDeviceRefusals(t *testing.T) {
	h := newHarness(t)
	h.login()
	addFakeDevices(h)
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"fail/show-without-id-or-name", []string{"ad", "device", "show"}, exitUsage, "exactly one"},
		{"fail/show-with-both", []string{"ad", "device", "show", "--id", "11111111-1111-4111-8111-111111111111", "--display-name", "vm1"}, exitUsage, "exactly one"},
		{"fail/show-id-not-guid", []string{"ad", "device", "show", "--id", "vm1"}, exitUsage, "not an object id"},
		{"fail/show-ambiguous-name", []string{"ad", "device", "show", "--display-name", "vm1"}, exitFailure, "2 devices"},
		{"fail/show-unknown-name", []string{"ad", "device", "show", "--display-name", "nope"}, exitNotFound, "not found"},
		{"fail/show-unknown-id", []string{"ad", "device", "show", "--id", "44444444-4444-4444-8444-444444444444"}, exitNotFound, ""},
		{"fail/delete-without-id", []string{"ad", "device", "delete"}, exitUsage, "id"},
		{"fail/delete-unknown-id", []string{"ad", "device", "delete", "--id", "44444444-4444-4444-8444-444444444444"}, exitNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := h.run(c.args...)
			if res.code != c.code || !strings.Contains(res.stderr, c.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", res.code, res.stderr, c.code, c.msg)
			}
		})
	}
}

func TestADDevice(t *testing.T) {
	h := newHarness(t)
	h.login()
	addFakeDevices(h)
	t.Run("ok/list", func(t *testing.T) {
		got := mustRun(t, h, "ad", "device", "list", "--query", "[].displayName", "-o", "tsv")
		if got != "vm1\nvm1\nwin1\n" {
			t.Fatalf("list: %q", got)
		}
	})
	t.Run("ok/list-filter", func(t *testing.T) {
		got := mustRun(t, h, "ad", "device", "list", "--filter", "operatingSystem eq 'Windows'", "--query", "[].deviceId", "-o", "tsv")
		if got != "cccccccc-3333-4333-8333-333333333333\n" {
			t.Fatalf("filtered list: %q", got)
		}
		if !strings.Contains(lastGraphRequest(h), "operatingSystem eq 'Windows'") {
			t.Fatalf("the filter was not sent: %s", lastGraphRequest(h))
		}
	})
	t.Run("ok/show-by-device-id", func(t *testing.T) {
		got := mustRun(t, h, "ad", "device", "show", "--id", "bbbbbbbb-2222-4222-8222-222222222222", "--query", "id", "-o", "tsv")
		if got != "22222222-2222-4222-8222-222222222222\n" {
			t.Fatalf("show by device id: %q", got)
		}
	})
	t.Run("ok/show-by-object-id", func(t *testing.T) {
		got := mustRun(t, h, "ad", "device", "show", "--id", "11111111-1111-4111-8111-111111111111", "--query", "deviceId", "-o", "tsv")
		if got != "aaaaaaaa-1111-4111-8111-111111111111\n" {
			t.Fatalf("show by object id: %q", got)
		}
	})
	t.Run("ok/show-by-unique-name", func(t *testing.T) {
		show := decode(t, mustRun(t, h, "ad", "device", "show", "--display-name", "win1")).(map[string]any)
		if show["id"] != "33333333-3333-4333-8333-333333333333" || show["trustType"] != "AzureAd" {
			t.Fatalf("show: %v", show)
		}
	})
	t.Run("ok/delete-by-device-id", func(t *testing.T) {
		if out := mustRun(t, h, "ad", "device", "delete", "--id", "cccccccc-3333-4333-8333-333333333333"); out != "" {
			t.Fatalf("delete printed %q", out)
		}
		if !strings.HasPrefix(lastGraphRequest(h), "DELETE /v1.0/devices/33333333-3333-4333-8333-333333333333") {
			t.Fatalf("last request %s", lastGraphRequest(h))
		}
		if r := h.run("ad", "device", "show", "--display-name", "win1"); r.code != exitNotFound {
			t.Fatalf("show after delete: exit %d", r.code)
		}
	})
}
