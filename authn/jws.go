package authn

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/latchsh/latch/internal/compactjws"
)

// maxAssertion caps a client assertion; one with a certificate chain in x5c stays well under.
const maxAssertion = 16 << 10

// splitJWS checks size, alphabet and shape of a compact JWS before anything is split.
func splitJWS(raw string) ([3]string, error) { return compactjws.Split(raw, maxAssertion) }

// decodeSegment decodes strict base64url JSON into v, refusing duplicate keys, deep nesting,
// trailing data, and top-level keys outside allowed when it is set.
func decodeSegment(seg string, v any, allowed map[string]bool) error {
	return compactjws.DecodeSegment(seg, v, allowed)
}

// unixTime is a JWT NumericDate that must be a plain non-negative integer; 0 means absent.
type unixTime int64

func (u *unixTime) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || len(b) > 12 || bytes.ContainsFunc(b, func(r rune) bool { return r < '0' || r > '9' }) {
		return errors.New("a date must be an integer number of seconds")
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	*u = unixTime(n)
	return err
}
