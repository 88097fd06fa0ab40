package token

import (
	"testing"
)

// BenchmarkSignES256 is the floor: one ES256 signature over a typical access token's
// signing input, without claims encoding or key lookup.
func BenchmarkSignES256(b *testing.B) {
	f := newFixture(b)
	k := f.current(tenantA)
	tok := f.sign(userAccess(tenantA, issuerA))
	input := []byte(tok[:len(tok)-87])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.signature(input); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign is issuance through Service.Sign: validation, claims encoding, the cached
// key lookup and the signature. It should stay close to BenchmarkSignES256.
func BenchmarkSign(b *testing.B) {
	for _, tc := range []struct {
		name, tid, iss string
	}{{"ES256", tenantA, issuerA}, {"RS256", tenantR, issuerR}} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b)
			c := userAccess(tc.tid, tc.iss)
			f.sign(c)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := f.svc.Sign(f.ctx, c); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkVerify is the cost of checking one access token with a warm key cache.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	tok := f.sign(userAccess(tenantA, issuerA))
	opt := accessOpts()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Verify(f.ctx, tok, opt); err != nil {
			b.Fatal(err)
		}
	}
}
