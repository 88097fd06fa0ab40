package authn

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

func TestCheckPasswordPolicy(t *testing.T) {
	const upn, name = "alice.smith@fabrikam-eu.test", "Alice Smith"
	cases := []struct{ name, pw string }{
		{"fail/empty", ""},
		{"fail/eleven-characters", "xk2!mQ9#pL4"},
		{"fail/eleven-runes-more-bytes", "ñçüßøåéîõàè"},
		{"fail/257-characters", longRandom(257)},
		{"fail/long-but-repeating", strings.Repeat("Zq8%", 64)},
		{"fail/banned-password1234", "password1234"},
		{"fail/banned-qwertyuiop12", "qwertyuiop12"},
		{"fail/banned-with-symbols", "P@ssw0rd!!!!"},
		{"fail/banned-case-and-leet", "WELC0ME!2030"},
		{"fail/season-and-year", "Summer2024!!"},
		{"fail/iloveyou-year", "iloveyou2024"},
		{"fail/repeated-character", "aaaaaaaaaaaa"},
		{"fail/repeated-pair", "abababababab"},
		{"fail/alphabet-run", "abcdefghijkl"},
		{"fail/digit-run", "123456789012"},
		{"fail/descending-run", "zyxwvutsrqpo"},
		{"fail/keyboard-walk", "1qaz2wsx3edc"},
		{"fail/word-twice", "monkeymonkey"},
		{"fail/contains-first-name", "xk2!alice#pL4$"},
		{"fail/contains-last-name-leet", "Sm1th-and-more-words"},
		{"fail/contains-domain-label", "fabrikam rules the world"},
		{"fail/product-name", "Latch1234567!"},
		{"fail/invalid-utf8", "abc\xffdefghijklm"},
		{"ok/twelve-random", "xk2!mQ9#pL4$"},
		{"ok/passphrase", "correct horse battery staple"},
		{"ok/sentence", "MyDogIsFluffy7"},
		{"ok/256-characters", longRandom(256)},
		{"ok/non-latin", "синий кит плывёт"},
		{"ok/no-composition-rules", "gravelmoonteacupriver"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckPasswordPolicy(c.pw, upn, name)
			if strings.HasPrefix(c.name, "ok/") {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("got %v, want Invalid", err)
			}
			if c.pw != "" && strings.Contains(errs.Message(err), c.pw) {
				t.Fatal("the message echoes the password")
			}
		})
	}
}

// longRandom is n characters from a fixed-seed generator: random enough, the same every run.
func longRandom(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = tapAlphabet[r.IntN(len(tapAlphabet))]
	}
	return string(b)
}

func TestPasswordExpired(t *testing.T) {
	now := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, c := range []struct {
		name   string
		p      directory.Password
		maxAge time.Duration
		want   bool
	}{
		{"fail/older-than-max-age", directory.Password{Hash: "h", LastChanged: now.Add(-91 * day)}, 90 * day, true},
		{"fail/exactly-max-age", directory.Password{Hash: "h", LastChanged: now.Add(-90 * day)}, 90 * day, true},
		{"fail/unknown-age", directory.Password{Hash: "h"}, 90 * day, true},
		{"ok/younger", directory.Password{Hash: "h", LastChanged: now.Add(-89 * day)}, 90 * day, false},
		{"ok/never-expires", directory.Password{Hash: "h", LastChanged: now.Add(-900 * day)}, 0, false},
		{"ok/no-password", directory.Password{}, 90 * day, false},
	} {
		if got := PasswordExpired(c.p, c.maxAge, now); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
