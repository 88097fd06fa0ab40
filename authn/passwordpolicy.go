package authn

import (
	_ "embed"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Password rules (OWASP ASVS 4.0.3 §2.1): at least 12 characters and up to 256 (counted as
// characters, not bytes, so a passphrase in any script works), no composition rules (they make
// passwords harder to remember, not to guess), and a check against common choices.
const (
	MinPasswordRunes = 12
	MaxPasswordRunes = 256
	// minPasswordScore is how many "characters" remain once every common word, keyboard walk,
	// sequence and run counts as one. Twelve random characters score 12; "Password1234" scores 2.
	minPasswordScore = 7
	minTokenRunes    = 4 // shorter banned words would match inside too many good passwords
	minNameRunes     = 3
)

//go:embed passwordpolicy_banned.txt
var bannedText string

var banned = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(bannedText, "\n") {
		if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
			m[w] = true
		}
	}
	return m
})

// CheckPasswordPolicy reports whether pw may be chosen by the user upn / displayName. It
// refuses passwords shorter than 12 or longer than 256 characters, those that are a common
// password or word with digits or symbols around it, those containing the user's name or a
// part of their user name, and those that score under 7 when common words, keyboard walks,
// sequences ("abcd", "4321") and repeated characters each count as one character.
//
// Errors: Invalid, with a sentence saying what to change and never echoing the password.
func CheckPasswordPolicy(pw, upn, displayName string) error {
	const op = "authn.CheckPasswordPolicy"
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordRunes || n > MaxPasswordRunes || !utf8.ValidString(pw) {
		return errs.Errorf(op, errs.Invalid, "Your password must be between %d and %d characters long. A few unrelated words make a good one.", MinPasswordRunes, MaxPasswordRunes)
	}
	forms := []string{strings.ToLower(pw), deLeet(strings.ToLower(pw))}
	for _, part := range nameParts(upn, displayName) {
		for _, f := range forms {
			if strings.Contains(f, part) {
				return errs.E(op, errs.Invalid, "Your password must not contain your name or user name. Choose something others could not guess from who you are.")
			}
		}
	}
	for _, f := range forms {
		if banned()[strings.TrimFunc(f, notLetter)] || banned()[f] || passwordScore(f) < minPasswordScore {
			return errs.E(op, errs.Invalid, "This password is too common or too easy to guess. Avoid common words, keyboard patterns and repeated characters; a few unrelated words make a good password.")
		}
	}
	return nil
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

// deLeet undoes the usual letter-for-symbol swaps, so "P@ssw0rd" is recognised.
func deLeet(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'o'
		case '1', '!', '|':
			return 'i'
		case '3':
			return 'e'
		case '4', '@':
			return 'a'
		case '5', '$':
			return 's'
		case '7', '+':
			return 't'
		}
		return r
	}, s)
}

// nameParts splits the UPN's local part and domain labels and the display name into lower-case
// words of at least three characters.
func nameParts(upn, displayName string) []string {
	local, domain, _ := strings.Cut(strings.ToLower(upn), "@")
	labels := strings.Split(domain, ".")
	if len(labels) > 1 {
		labels = labels[:len(labels)-1] // "test", "com": not a name
	}
	words := strings.FieldsFunc(local+" "+strings.ToLower(displayName)+" "+strings.Join(labels, " "), notAlnum)
	var out []string
	for _, w := range words {
		if utf8.RuneCountInString(w) >= minNameRunes {
			out = append(out, w)
		}
	}
	return out
}

func notAlnum(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// passwordScore counts the password's characters, with each longest banned word, each run of
// three or more repeated or consecutive characters and each repeated short unit counting as one.
func passwordScore(s string) int {
	rs := []rune(s)
	score := 0
	for i := 0; i < len(rs); score++ {
		i += max(longestBanned(rs, i), patternRun(rs, i), repeatRun(rs, i), 1)
	}
	return score
}

// longestBanned is the length of the longest banned word starting at rs[i], or 0.
func longestBanned(rs []rune, i int) int {
	best := 0
	for j := i + minTokenRunes; j <= len(rs) && j-i <= 32; j++ {
		if banned()[string(rs[i:j])] {
			best = j - i
		}
	}
	return best
}

// patternRun is the length of the run of repeated ("aaaa") or consecutive ("abcd", "9876")
// characters starting at rs[i] when it is at least three long, else 0.
func patternRun(rs []rune, i int) int {
	if i+2 >= len(rs) {
		return 0
	}
	d := rs[i+1] - rs[i]
	if d < -1 || d > 1 {
		return 0
	}
	j := i + 1
	for j < len(rs) && rs[j]-rs[j-1] == d {
		j++
	}
	if j-i < 3 {
		return 0
	}
	return j - i
}

// repeatRun is the length of the stretch starting at rs[i] that repeats a unit of two to four
// characters at least twice ("abab", "xyzxyz"), else 0.
func repeatRun(rs []rune, i int) int {
	best := 0
	for p := 2; p <= 4; p++ {
		j := i + p
		for j < len(rs) && rs[j] == rs[j-p] {
			j++
		}
		if j-i >= 2*p {
			best = max(best, j-i)
		}
	}
	return best
}

// PasswordExpired reports whether the password p must be changed at now under a maximum age
// (Entra's password expiration policy). maxAge ≤ 0 means passwords never expire; a user without
// a password has nothing to expire. A password with no recorded change time is treated as
// expired when a maximum age is set, so an unknown age fails closed.
func PasswordExpired(p directory.Password, maxAge time.Duration, now time.Time) bool {
	if maxAge <= 0 || p.Hash == "" {
		return false
	}
	if p.LastChanged.IsZero() {
		return true
	}
	return !now.Before(p.LastChanged.Add(maxAge))
}
