package authn

import (
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
)

func TestHashPassword(t *testing.T) {
	for name, pw := range map[string]string{"fail/empty": "", "fail/too-long": strings.Repeat("x", MaxPasswordLen+1)} {
		if _, err := HashPassword(pw); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("encoding %q", h)
	}
	h2, _ := HashPassword("correct horse battery staple")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestCheckPassword(t *testing.T) {
	h, _ := HashPassword("correct horse battery staple")
	for _, tc := range []struct {
		name, hash, pw string
		ok, broken     bool // broken: the stored hash is at fault, an Internal error
	}{
		{name: "fail/wrong-password", hash: h, pw: "correct horse battery stapler"},
		{name: "fail/empty-password", hash: h, pw: ""},
		{name: "fail/prefix-of-password", hash: h, pw: "correct horse"},
		{name: "fail/over-long-password", hash: h, pw: strings.Repeat("x", MaxPasswordLen+1)},
		{name: "fail/bcrypt-hash", hash: "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234", pw: "x", broken: true},
		{name: "fail/argon2i-hash", hash: strings.Replace(h, "argon2id", "argon2i", 1), pw: "x", broken: true},
		{name: "fail/huge-memory", hash: strings.Replace(h, "m=19456", "m=4194304", 1), pw: "x", broken: true},
		{name: "fail/huge-time", hash: strings.Replace(h, "t=2", "t=1000", 1), pw: "x", broken: true},
		{name: "fail/zero-threads", hash: strings.Replace(h, "p=1", "p=0", 1), pw: "x", broken: true},
		{name: "fail/trailing-junk-in-params", hash: strings.Replace(h, "p=1", "p=1x", 1), pw: "x", broken: true},
		{name: "fail/truncated", hash: h[:len(h)-30], pw: "x", broken: true},
		{name: "fail/empty-hash", hash: "", pw: "x", broken: true},
		{name: "ok/right-password", hash: h, pw: "correct horse battery staple", ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := CheckPassword(tc.hash, tc.pw)
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if tc.broken {
				if err == nil || !errs.Is(err, errs.Internal) {
					t.Fatalf("err %v, want Internal", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}
