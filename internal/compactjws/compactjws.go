// Package compactjws holds the checks every compact JWS Latch reads goes through before any
// cryptography: size and alphabet before splitting, strict base64url, and JSON objects with no
// duplicate keys, bounded nesting and, where asked, only known top-level keys. Both the token
// verifier and the client-assertion verifier use it, so a hardening lands in both at once.
// It imports only the standard library and knows nothing of keys or claims.
package compactjws

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxDepth bounds nesting in headers and payloads; Latch's own tokens nest two deep.
const MaxDepth = 8

// Split checks raw's size (at most max bytes), alphabet and shape before anything is split or
// decoded, so a megabyte of dots costs one bounded scan (CVE-2025-27144's class), and returns
// its three non-empty segments. Errors describe the defect for the log.
func Split(raw string, max int) ([3]string, error) {
	var parts [3]string
	if raw == "" {
		return parts, errors.New("empty")
	}
	if len(raw) > max {
		return parts, errors.New("too large")
	}
	dots, n := [2]int{}, 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '.' {
			if n == 2 {
				return parts, errors.New("more than two dots")
			}
			dots[n] = i
			n++
			continue
		}
		if !isB64URL(c) {
			return parts, errors.New("a character outside base64url")
		}
	}
	if n != 2 {
		return parts, errors.New("not three segments")
	}
	parts = [3]string{raw[:dots[0]], raw[dots[0]+1 : dots[1]], raw[dots[1]+1:]}
	for _, p := range parts {
		if p == "" {
			return parts, errors.New("an empty segment")
		}
	}
	return parts, nil
}

func isB64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// DecodeB64 is strict: no padding, no line breaks and no non-zero trailing bits, so one token
// has exactly one spelling.
func DecodeB64(seg string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return nil, errors.New("bad base64url")
	}
	return b, nil
}

// DecodeSegment decodes one base64url JSON object into v after CheckJSON.
func DecodeSegment(seg string, v any, allowed map[string]bool) error {
	b, err := DecodeB64(seg)
	if err != nil {
		return err
	}
	if err := CheckJSON(b, allowed); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	return nil
}

// CheckJSON walks b as a stream of tokens: it must be one object, nested at most MaxDepth,
// with no key repeated within an object — also not once case is folded, since encoding/json
// matches names case-insensitively — and nothing after it. allowed, when set, limits the
// top-level keys.
func CheckJSON(b []byte, allowed map[string]bool) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	t, err := d.Token()
	if err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := walkObject(d, 1, allowed); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// walkObject consumes an object's members after its '{'.
func walkObject(d *json.Decoder, depth int, allowed map[string]bool) error {
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		k, _ := t.(string)
		fold := foldKey(k)
		if seen[fold] {
			return fmt.Errorf("duplicate key %q", k)
		}
		seen[fold] = true
		if allowed != nil && !allowed[k] {
			return fmt.Errorf("parameter %q is not accepted", k)
		}
		if err := walkValue(d, depth); err != nil {
			return err
		}
	}
	_, err := d.Token() // '}'
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
	if depth >= MaxDepth {
		return errors.New("JSON nested too deep")
	}
	if delim == '{' {
		return walkObject(d, depth+1, nil)
	}
	for d.More() { // '['
		if err := walkValue(d, depth+1); err != nil {
			return err
		}
	}
	_, err = d.Token() // ']'
	return err
}

// foldKey is the form two keys are compared in: the same key to encoding/json is the same here.
func foldKey(k string) string { return strings.ToLower(k) }
