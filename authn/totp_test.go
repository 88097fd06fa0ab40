package authn

import (
	"bytes"
	"encoding/base32"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
)

// RFC 6238 appendix B, the SHA-1 rows: eight-digit codes for the ASCII secret "1234567890"×2.
func TestTOTPRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}} {
		step := totpStep(time.Unix(v.unix, 0))
		if got := hotp(secret, uint64(step), 8); got != v.code {
			t.Errorf("T=%d: got %s, want %s", v.unix, got, v.code)
		}
		if got := totpCode(secret, step); got != v.code[2:] { // six digits: the same number mod 10^6
			t.Errorf("T=%d six digits: got %s, want %s", v.unix, got, v.code[2:])
		}
	}
}

func TestNewTOTP(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m, uri, err := NewTOTP(testTenant, "u1", "alice@contoso.test", now)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Latch:alice@contoso.test" {
		t.Fatalf("uri %q: %v", uri, err)
	}
	q := u.Query()
	sec, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(q.Get("secret"))
	if err != nil || !bytes.Equal(sec, m.Secret) || len(sec) != 20 || q.Get("digits") != "6" || q.Get("period") != "30" ||
		q.Get("algorithm") != "SHA1" || q.Get("issuer") != "Latch" || m.Confirmed || m.LastStep != 0 {
		t.Fatalf("uri %q for %+v", uri, m)
	}
	png, err := QRCodePNG(uri)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("QR code: %v", err)
	}
	for name, args := range map[string][3]string{
		"fail/no-tenant": {"", "u", "a"}, "fail/no-user": {"t", "", "a"}, "fail/no-name": {"t", "u", " "},
		"fail/long-name": {"t", "u", strings.Repeat("x", 129)},
	} {
		if _, _, err := NewTOTP(args[0], args[1], args[2], now); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := QRCodePNG(strings.Repeat("x", 8000)); !errs.Is(err, errs.Invalid) {
		t.Errorf("fail/qr-too-long: got %v", err)
	}
}

// totpEnv holds one enrolled method in a memStore.
func totpEnv(t *testing.T) (*memStore, TOTPMethod, time.Time) {
	st := newMemStore()
	now := time.Date(2030, 1, 1, 0, 0, 10, 0, time.UTC) // 10 s into a step
	m, _, err := NewTOTP(testTenant, "u1", "alice@contoso.test", now)
	if err != nil {
		t.Fatal(err)
	}
	st.totps[m.TenantID+"|"+m.ID] = m
	return st, m, now
}

func TestVerifyTOTP(t *testing.T) {
	step := 30 * time.Second
	codeAt := func(m TOTPMethod, at time.Time) string { return totpCode(m.Secret, totpStep(at)) }
	type tc struct {
		name string
		run  func(st *memStore, m TOTPMethod, now time.Time) error
	}
	once := func(off time.Duration, mangle func(string) string) func(*memStore, TOTPMethod, time.Time) error {
		return func(st *memStore, m TOTPMethod, now time.Time) error {
			return VerifyTOTP(t.Context(), st, m, mangle(codeAt(m, now.Add(off))), now)
		}
	}
	same := func(s string) string { return s }
	cases := []tc{
		{"ok/current-step", once(0, same)},
		{"ok/previous-step", once(-step, same)},
		{"ok/next-step", once(step, same)},
		{"ok/spaces-forgiven", once(0, func(s string) string { return s[:3] + " " + s[3:] })},
		{"fail/two-steps-old", once(-2*step, same)},
		{"fail/two-steps-ahead", once(2*step, same)},
		{"fail/wrong-code", once(0, func(s string) string { return string(rune('0'+(s[0]-'0'+1)%10)) + s[1:] })},
		{"fail/empty", once(0, func(string) string { return "" })},
		{"fail/five-digits", once(0, func(s string) string { return s[:5] })},
		{"fail/seven-digits", once(0, func(s string) string { return s + "0" })},
		{"fail/long-input", once(0, func(s string) string { return s + strings.Repeat(" ", 20) })},
		{"fail/same-code-twice", func(st *memStore, m TOTPMethod, now time.Time) error {
			if err := VerifyTOTP(t.Context(), st, m, codeAt(m, now), now); err != nil {
				return nil // makes the case fail: the first use had to work
			}
			return VerifyTOTP(t.Context(), st, m, codeAt(m, now), now.Add(5*time.Second))
		}},
		{"fail/older-step-after-newer", func(st *memStore, m TOTPMethod, now time.Time) error {
			if err := VerifyTOTP(t.Context(), st, m, codeAt(m, now), now); err != nil {
				return nil
			}
			return VerifyTOTP(t.Context(), st, m, codeAt(m, now.Add(-step)), now)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, m, now := totpEnv(t)
			err := c.run(st, m, now)
			if strings.HasPrefix(c.name, "ok/") {
				got := st.totps[m.TenantID+"|"+m.ID]
				if err != nil || !got.Confirmed || got.LastStep == 0 {
					t.Fatalf("got %v, stored %+v", err, got)
				}
				return
			}
			if !errs.Is(err, errs.Unauthenticated) || errs.CodeOf(err) != "invalid_totp" {
				t.Fatalf("got %v, want Unauthenticated invalid_totp", err)
			}
		})
	}
}

// TestTOTPReplayConcurrent: fifty requests carrying one code at once; one is accepted.
func TestTOTPReplayConcurrent(t *testing.T) {
	st, m, now := totpEnv(t)
	code := totpCode(m.Secret, totpStep(now))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			err := VerifyTOTP(t.Context(), st, m, code, now)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if errs.Is(err, errs.Unauthenticated) {
				refused++
			}
		})
	}
	close(start)
	wg.Wait()
	if ok != 1 || refused != 49 {
		t.Fatalf("%d accepted and %d refused; want 1 and 49", ok, refused)
	}
}
