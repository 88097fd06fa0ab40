package authn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxAssertion caps a client assertion; one with a certificate chain in x5c stays well under.
const maxAssertion = 16 << 10

const maxJSONDepth = 8

// splitJWS checks size, alphabet and shape of a compact JWS before anything is split, so a
// megabyte of dots costs one bounded scan, and returns its three non-empty segments.
func splitJWS(raw string) ([3]string, error) {
	var parts [3]string
	if raw == "" || len(raw) > maxAssertion {
		return parts, errors.New("empty or too large")
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c == '.' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return parts, errors.New("a character outside base64url")
		}
	}
	if strings.Count(raw, ".") != 2 {
		return parts, errors.New("not three segments")
	}
	a, rest, _ := strings.Cut(raw, ".")
	b, c, _ := strings.Cut(rest, ".")
	if a == "" || b == "" || c == "" {
		return parts, errors.New("an empty segment")
	}
	return [3]string{a, b, c}, nil
}

// decodeSegment decodes strict unpadded base64url JSON into v, refusing duplicate keys (also
// when they differ only in case, as encoding/json matches names case-insensitively), nesting
// beyond maxJSONDepth, trailing data, and top-level keys outside allowed when it is set.
func decodeSegment(seg string, v any, allowed map[string]bool) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return errors.New("bad base64url")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := walkObject(d, 1, allowed); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return json.Unmarshal(b, v)
}

func walkObject(d *json.Decoder, depth int, allowed map[string]bool) error {
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		k, _ := t.(string)
		if seen[strings.ToLower(k)] {
			return fmt.Errorf("duplicate key %q", k)
		}
		seen[strings.ToLower(k)] = true
		if allowed != nil && !allowed[k] {
			return fmt.Errorf("parameter %q is not accepted", k)
		}
		if err := walkValue(d, depth); err != nil {
			return err
		}
	}
	_, err := d.Token()
	return err
}

func walkValue(d *json.Decoder, depth int) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	delim, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return errors.New("JSON nested too deep")
	}
	if delim == '{' {
		return walkObject(d, depth+1, nil)
	}
	for d.More() {
		if err := walkValue(d, depth+1); err != nil {
			return err
		}
	}
	_, err = d.Token()
	return err
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
