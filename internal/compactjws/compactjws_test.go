package compactjws

import (
	"encoding/base64"
	"strings"
	"testing"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestSplitAndDecode(t *testing.T) {
	refuse := map[string]string{
		"fail/empty":         "",
		"fail/one-dot":       "a.b",
		"fail/three-dots":    "a.b.c.d",
		"fail/many-dots":     strings.Repeat(".", 10000),
		"fail/empty-segment": "a..c",
		"fail/padding":       "a=.b.c",
		"fail/space":         "a .b.c",
		"fail/too-large":     strings.Repeat("a", 100) + ".b.c",
	}
	for name, raw := range refuse {
		if _, err := Split(raw, 64); err == nil {
			t.Errorf("%s: Split(%.20q) accepted", name, raw)
		}
	}
	if p, err := Split("aa.bb.cc", 64); err != nil || p != [3]string{"aa", "bb", "cc"} {
		t.Errorf("ok/split: %v %v", p, err)
	}
	var v map[string]any
	for name, js := range map[string]string{
		"fail/duplicate":      `{"a":1,"a":2}`,
		"fail/duplicate-case": `{"alg":"x","ALG":"y"}`,
		"fail/unknown-key":    `{"a":1,"jku":"x"}`,
		"fail/deep":           `{"a":` + strings.Repeat("[", 9) + strings.Repeat("]", 9) + `}`,
		"fail/nested-dup":     `{"a":{"b":1,"b":2}}`,
		"fail/trailing":       `{"a":1}{}`,
		"fail/array":          `[1]`,
		"fail/not-json":       `{"a":`,
	} {
		if err := DecodeSegment(b64(js), &v, map[string]bool{"a": true, "alg": true, "ALG": true}); err == nil {
			t.Errorf("%s: %s accepted", name, js)
		}
	}
	if err := DecodeSegment(b64(`{"a":{"b":[1,{"c":2}]}}`), &v, map[string]bool{"a": true}); err != nil {
		t.Errorf("ok/nested: %v", err)
	}
	if err := DecodeSegment("eyJhIjoxfQ=", &v, nil); err == nil {
		t.Error("fail/padded-base64: accepted")
	}
}

func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":[{"b":{"c":null}}]}`, `{"a":1,"A":2}`, `[`, `{"a":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		CheckJSON(b, nil)
	})
}
