package conditional

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxJSONBytes caps a policy, named location or strength document. Real ones are a few KiB;
// the cap keeps a hostile body from costing more than a bounded parse.
const MaxJSONBytes = 64 << 10

// maxDepth bounds nesting; the deepest Graph shape here is five levels.
const maxDepth = 16

// Strings is a JSON list of strings that Graph writes as [] when empty, never null. A null
// on input reads as empty, as Graph treats it.
type Strings []string

// MarshalJSON writes nil as [].
func (s Strings) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(s))
}

// Ignored is a Graph field Latch accepts with any value and never writes: an OData
// annotation, or a copy of data that is authoritative elsewhere.
type Ignored struct{}

// UnmarshalJSON accepts any JSON value.
func (*Ignored) UnmarshalJSON([]byte) error { return nil }

// MarshalJSON writes null; with omitzero it is never called.
func (Ignored) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// Unsupported is a Graph field Latch does not implement. It may be absent or empty (null, [],
// {}, "", false), which is how Graph writes it when unused; any other value makes Validate
// fail, because silently ignoring a condition or control would weaken the policy.
type Unsupported struct{ Set bool }

// UnmarshalJSON records whether the value carries anything.
func (u *Unsupported) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "null", "[]", "{}", `""`, "false":
		u.Set = false
	default:
		u.Set = true
	}
	return nil
}

// MarshalJSON writes null; a set value never passes Validate, so it is never written.
func (Unsupported) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// decodeStrict decodes one JSON value from b into v, refusing unknown fields at every level,
// duplicate keys (compared case-insensitively, as encoding/json matches them), nesting deeper
// than maxDepth, trailing data and documents over MaxJSONBytes.
func decodeStrict(b []byte, v any) error {
	if len(b) > MaxJSONBytes {
		return fmt.Errorf("the document is %d bytes; at most %d are accepted", len(b), MaxJSONBytes)
	}
	if err := checkShape(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON document")
	}
	return nil
}

// checkShape walks the tokens once for what encoding/json lets through: duplicate keys and
// unbounded depth.
func checkShape(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return walkValue(d, 0)
}

func walkValue(d *json.Decoder, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("the document nests deeper than %d levels", maxDepth)
	}
	t, err := d.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		return walkObject(d, depth+1)
	case json.Delim('['):
		for d.More() {
			if err := walkValue(d, depth+1); err != nil {
				return err
			}
		}
		_, err = d.Token()
		return err
	}
	return nil
}

func walkObject(d *json.Decoder, depth int) error {
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		k, _ := t.(string)
		if seen[strings.ToLower(k)] {
			return fmt.Errorf("the key %q appears twice", k)
		}
		seen[strings.ToLower(k)] = true
		if err := walkValue(d, depth); err != nil {
			return err
		}
	}
	_, err := d.Token()
	return err
}
