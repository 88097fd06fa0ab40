package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
)

func testVM(i int) resource.Resource {
	name := fmt.Sprintf("vm%d", i)
	return resource.Resource{ID: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/" + name, Name: name}
}

// wantHostConsent fails unless err is the host-consent question for vm.
func wantHostConsent(t *testing.T, err error, vm resource.Resource) {
	t.Helper()
	var ca *caRefusal
	if !errors.As(err, &ca) || ca.suberror != SuberrorHostConsent || errs.CodeOf(err) != "interaction_required" {
		t.Fatalf("got %v, want interaction_required/host_consent_required", err)
	}
	if !strings.Contains(err.Error(), "Allow the connection to "+vm.Name+"? Latch asks the first time you connect to a machine and remembers up to 15 machines for 30 days.") {
		t.Fatalf("message %q", err.Error())
	}
}

func TestRememberedHosts(t *testing.T) {
	ctx := context.Background()
	const user = "22222222-2222-4222-8222-222222222222"
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, e *riskEnv) error // the last check, whose answer is judged
		want bool                                 // whether that check passes
	}{
		{"fail/first-connection-asks", func(t *testing.T, e *riskEnv) error {
			return e.s.checkRememberedHost(ctx, e.tenant, user, testVM(1), false)
		}, false},
		{"fail/forgotten-after-30-days", func(t *testing.T, e *riskEnv) error {
			noErr(t, e.s.checkRememberedHost(ctx, e.tenant, user, testVM(1), true))
			e.now = e.now.Add(store.RememberHostFor)
			return e.s.checkRememberedHost(ctx, e.tenant, user, testVM(1), false)
		}, false},
		{"fail/sixteenth-machine-evicts-least-recently-used", func(t *testing.T, e *riskEnv) error {
			for i := range 16 {
				e.now = e.now.Add(time.Hour)
				noErr(t, e.s.checkRememberedHost(ctx, e.tenant, user, testVM(i), true))
			}
			return e.s.checkRememberedHost(ctx, e.tenant, user, testVM(0), false)
		}, false},
		{"fail/another-person", func(t *testing.T, e *riskEnv) error {
			noErr(t, e.s.checkRememberedHost(ctx, e.tenant, user, testVM(1), true))
			return e.s.checkRememberedHost(ctx, e.tenant, "33333333-3333-4333-8333-333333333333", testVM(1), false)
		}, false},
		{"ok/consent-remembers", func(t *testing.T, e *riskEnv) error {
			noErr(t, e.s.checkRememberedHost(ctx, e.tenant, user, testVM(1), true))
			e.now = e.now.Add(store.RememberHostFor - time.Minute)
			return e.s.checkRememberedHost(ctx, e.tenant, user, testVM(1), false)
		}, true},
		{"ok/recently-used-survives-eviction", func(t *testing.T, e *riskEnv) error {
			for i := range 16 {
				e.now = e.now.Add(time.Hour)
				noErr(t, e.s.checkRememberedHost(ctx, e.tenant, user, testVM(i), true))
				if i == 14 {
					e.now = e.now.Add(time.Hour)
					noErr(t, e.s.checkRememberedHost(ctx, e.tenant, user, testVM(0), false))
				}
			}
			if err := e.s.checkRememberedHost(ctx, e.tenant, user, testVM(1), false); err == nil {
				t.Fatal("vm1, the least recently used, was kept")
			}
			return e.s.checkRememberedHost(ctx, e.tenant, user, testVM(0), false)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRiskEnv(t)
			err := tc.run(t, e)
			if tc.want && err != nil {
				t.Fatal(err)
			}
			if !tc.want {
				vm := testVM(1)
				if strings.Contains(tc.name, "sixteenth") {
					vm = testVM(0)
				}
				wantHostConsent(t, err, vm)
			}
		})
	}
}

// host_consent must name the requested machine: a consent is not carried to another.
func TestSSHHostConsentParameter(t *testing.T) {
	const user = "22222222-2222-4222-8222-222222222222"
	for _, tc := range []struct {
		name, consent string
		code          errs.Code
	}{
		{"fail/consent-for-another-vm", testVM(2).ID, "invalid_request"},
		{"fail/no-consent", "", "interaction_required"},
		{"ok/consent-any-case", strings.ToUpper(testVM(1).ID), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRiskEnv(t)
			r := httptest.NewRequest("POST", "/token", strings.NewReader(url.Values{"host_consent": {tc.consent}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			noErr(t, r.ParseForm())
			err := e.s.sshHostConsent(r, e.tenant, user, testVM(1))
			if got := errs.CodeOf(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
		})
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The page's vm parameter: never a panic; accepted only as a resource id of bounded length;
// refused only as invalid, so the page answers 400 and never "internal error".
func FuzzCheckHostConsentVMID(f *testing.F) {
	for _, s := range []string{"", "/", "not an id", testVM(1).ID, strings.ToUpper(testVM(1).ID),
		"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg", testVM(1).ID + "/", testVM(1).ID + "//x",
		"/providers/Microsoft.Management/managementGroups/mg", strings.Repeat("/a", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := checkHostConsentVMID(id)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("%q: kind %v", id, errs.KindOf(err))
			}
			return
		}
		sc, perr := access.ParseScope(id)
		if perr != nil || sc.Kind() != access.Resource || len(id) > maxVMIDLength {
			t.Fatalf("%q accepted: %v %v", id, perr, sc.Kind())
		}
	})
}
