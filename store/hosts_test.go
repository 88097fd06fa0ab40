package store

import (
	"testing"
	"time"
)

func TestRememberedHosts(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	hs := RememberedHosts(nil).Allow(vm, "vm1", t0)
	for _, tc := range []struct {
		name string
		id   string
		at   time.Time
		want bool
	}{
		{"fail/forgotten-after-30-days", vm, t0.Add(RememberHostFor), false},
		{"fail/other-machine", vm + "2", t0.Add(time.Hour), false},
		{"ok/within-30-days", vm, t0.Add(RememberHostFor - time.Second), true},
		{"ok/id-case-insensitive", "/SUBSCRIPTIONS/s/resourcegroups/RG/providers/microsoft.compute/virtualmachines/VM1", t0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := hs.Find(tc.id, tc.at); ok != tc.want {
				t.Fatalf("Find = %v, want %v", ok, tc.want)
			}
		})
	}
	t.Run("fail/use-does-not-add", func(t *testing.T) {
		if got := hs.Use(vm+"2", t0); len(got) != 1 {
			t.Fatalf("Use added a host: %v", got)
		}
	})
	t.Run("ok/use-does-not-extend-consent", func(t *testing.T) {
		used := hs.Use(vm, t0.Add(29*24*time.Hour))
		if _, ok := used.Find(vm, t0.Add(RememberHostFor)); ok {
			t.Fatal("using a host renewed the 30 days; only a new consent should")
		}
	})
	t.Run("ok/allow-renews", func(t *testing.T) {
		again := hs.Allow(vm, "vm1", t0.Add(29*24*time.Hour))
		if _, ok := again.Find(vm, t0.Add(RememberHostFor)); !ok || len(again) != 1 {
			t.Fatalf("renewed consent lost or duplicated: %v", again)
		}
	})
}
