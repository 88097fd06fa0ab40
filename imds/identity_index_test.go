package imds

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// TestIdentityIndexMatchesScan: with and without the index, every selection among many
// identities gives the same identity or the same refusal, including after the Source changes
// an identity in place and for values that differ from the stored ones only in case.
func TestIdentityIndexMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]Identity, 100)
	for i := range ids {
		ids[i] = Identity{ClientID: fmt.Sprintf("%08x-0000-4000-8000-%012x", rng.Uint32(), i),
			ObjectID: fmt.Sprintf("%08x-1111-4111-8111-%012x", rng.Uint32(), i), ResourceID: fmt.Sprintf("/subscriptions/s/rg/ID%d", i)}
	}
	ids[7].ClientID = ids[3].ClientID // a duplicate: the first one wins
	var x identityIndexes
	check := func(name string, q url.Values) {
		t.Helper()
		want, wantRef, wantBad := selectIdentity(nil, ids, q, imdsSelectors)
		got, gotRef, gotBad := selectIdentity(&x, ids, q, imdsSelectors)
		if got != want || gotRef != wantRef || gotBad != wantBad {
			t.Fatalf("%s %v: index gave %v %v %v, scan %v %v %v", name, q, got, gotRef.code, gotBad, want, wantRef.code, wantBad)
		}
	}
	for n := range 2000 {
		id := ids[rng.IntN(len(ids))]
		value := map[int]string{0: id.ClientID, 1: id.ObjectID, 2: id.ResourceID}[n%3]
		sel := []string{"client_id", "object_id", "msi_res_id"}[n%3]
		switch n % 5 {
		case 0:
			value = strings.ToUpper(value)
		case 1:
			value += "x" // no such identity
		}
		check("random", url.Values{sel: {value}})
		if n == 1000 { // the Source replaces one identity in the same slice
			ids[10].ClientID = "ffffffff-0000-4000-8000-000000000000"
		}
	}
	for _, c := range []struct {
		name string
		q    url.Values
	}{
		{"fail/unknown", url.Values{"client_id": {"00000000-0000-4000-8000-000000000000"}}},
		{"fail/empty", url.Values{"client_id": {""}}},
		{"fail/two-selectors", url.Values{"client_id": {ids[1].ClientID}, "object_id": {ids[1].ObjectID}}},
		{"ok/replaced-in-place", url.Values{"client_id": {"FFFFFFFF-0000-4000-8000-000000000000"}}},
		{"ok/duplicate-first", url.Values{"client_id": {ids[3].ClientID}}},
	} {
		check(c.name, c.q)
	}
}
