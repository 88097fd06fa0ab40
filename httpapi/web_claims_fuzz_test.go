package httpapi

import (
	"encoding/json"
	"slices"
	"testing"
)

func FuzzACRSOfClaims(f *testing.F) {
	f.Add(`{"access_token":{"acrs":{"essential":true,"values":["00000000-0000-0000-0000-000000000004"]}}}`)
	f.Add(`{"access_token":{"acrs":{"values":[]}}}`)
	f.Add(`{"id_token":{}}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, claims string) {
		acrs, ok := acrsOfClaims(claims)
		if !ok {
			return
		}
		if len(claims) > maxClaimsLen || len(acrs) > maxClaimsACRSs {
			t.Fatalf("over the caps: %d bytes, %d values", len(claims), len(acrs))
		}
		if len(acrs) == 0 {
			return
		}
		// The challenge the token endpoint writes for these values reads back the same.
		again, ok := acrsOfClaims(claimsChallenge(acrs))
		if !ok || !slices.Equal(again, acrs) {
			b, _ := json.Marshal(acrs)
			t.Fatalf("round trip of %s: %v %v", b, again, ok)
		}
	})
}
