package httpapi

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchsh/latch/machineapi"
)

// FuzzParseOperationID: no panic, and what operationPath writes reads back.
func FuzzParseOperationID(f *testing.F) {
	f.Add("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/x", "gen")
	f.Add("", "")
	f.Add("/extensions/|", "a|b")
	f.Fuzz(func(t *testing.T, extID, gen string) {
		_, _, _, _ = parseOperationID(extID) // arbitrary text as the path segment
		p := operationPath(extID, "westus", gen, opKindDelete)
		op := p[strings.LastIndex(p, "/")+1 : strings.Index(p, "?")]
		id, g, kind, err := parseOperationID(op)
		if err == nil && (id != extID || g != gen || kind != opKindDelete) {
			t.Fatalf("round trip: %q %q gave %q %q %q", extID, gen, id, g, kind)
		}
	})
}

// FuzzGoalStateQuery: no panic; a wait is never negative nor above the cap.
func FuzzGoalStateQuery(f *testing.F) {
	f.Add("abc", "30")
	f.Add("", "-1")
	f.Add("x", "99999999999999999999")
	f.Fuzz(func(t *testing.T, version, wait string) {
		r := httptest.NewRequest("GET", machineapi.PathGoalState+"?version="+url.QueryEscape(version)+"&wait="+url.QueryEscape(wait), nil)
		v, d, err := goalStateQuery(r)
		if err != nil {
			return
		}
		if d < 0 || d.Seconds() > machineapi.MaxWaitSeconds || v != version {
			t.Fatalf("version %q wait %q gave %q %v", version, wait, v, d)
		}
	})
}
