package signinlog

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/latchsh/latch/conditional"
)

// nasty are strings encoding/json escapes in every way it knows.
var nasty = []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "caf\u00e9 \u2028 \u2029 \U0001F512", "bad \xff\xfe utf-8 \xc3", "\xed\xa0\x80 surrogate"}

// fill sets every field reachable from v, by reflection, so that a field added to Entry and
// missing from AppendJSON makes the comparison fail.
func fill(r *rand.Rand, v reflect.Value, extra string) {
	switch v.Kind() {
	case reflect.String:
		if r.IntN(4) == 0 {
			v.SetString("")
		} else if extra != "" && r.IntN(2) == 0 {
			v.SetString(extra)
		} else {
			v.SetString(nasty[r.IntN(len(nasty))])
		}
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case reflect.Slice:
		switch r.IntN(3) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			v.Set(reflect.MakeSlice(v.Type(), 1+r.IntN(3), 3))
			for i := range v.Len() {
				fill(r, v.Index(i), extra)
			}
		}
	case reflect.Struct:
		if t, ok := v.Addr().Interface().(*time.Time); ok {
			if r.IntN(5) > 0 {
				zone := time.FixedZone("", (r.IntN(29)-14)*3600)
				*t = time.Unix(r.Int64N(1<<35), r.Int64N(1e9)).In(zone)
			}
			return
		}
		for i := range v.NumField() {
			fill(r, v.Field(i), extra)
		}
	}
}

// sameAsEncodingJSON checks that json.Unmarshal reads AppendJSON's output as the same Entry
// it reads from json.Marshal's, and that both refuse the same entries.
func sameAsEncodingJSON(t *testing.T, e *Entry) {
	t.Helper()
	want, werr := json.Marshal(e)
	got, gerr := e.AppendJSON(nil)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("encoding/json error %v, AppendJSON error %v", werr, gerr)
	}
	if werr != nil {
		return
	}
	var fromGot, fromWant Entry
	if err := json.Unmarshal(got, &fromGot); err != nil {
		t.Fatalf("AppendJSON wrote what encoding/json cannot read: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &fromWant); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromGot, fromWant) {
		t.Fatalf("AppendJSON's output reads back differently:\n got %s\nwant %s", got, want)
	}
}

func TestAppendJSON(t *testing.T) {
	cases := []struct {
		name string
		e    Entry
	}{
		{"fail/year-10000", Entry{ID: "x", CreatedDateTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"fail/step-before-year-0", Entry{ID: "x", AuthenticationDetails: []AuthDetail{{StepDateTime: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}}}},
		{"ok/zero", Entry{}},
		{"ok/app-only", New(Input{ID: "e2", Time: t0, AppID: "app", Flow: FlowClientCredentials}, conditional.Result{Status: conditional.StatusNotApplied})},
		{"ok/certificate", New(input("fido2"), decide(conditional.StateEnabled, "fido2"))},
		{"ok/refused", New(input("password"), decide(conditional.StateEnabled, "password"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { sameAsEncodingJSON(t, &c.e) })
	}
}

// Random entries, every field set or left empty, encode byte for byte as encoding/json does.
func TestAppendJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var e Entry
		fill(r, reflect.ValueOf(&e).Elem(), "")
		sameAsEncodingJSON(t, &e)
	}
}

func FuzzAppendJSON(f *testing.F) {
	for i, s := range nasty {
		f.Add(s, uint64(i))
	}
	f.Fuzz(func(t *testing.T, s string, seed uint64) {
		if len(s) > 1<<12 {
			return
		}
		var e Entry
		fill(rand.New(rand.NewPCG(seed, 7)), reflect.ValueOf(&e).Elem(), s)
		sameAsEncodingJSON(t, &e)
	})
}

// An app's sign-in is written without the fields it leaves empty.
func TestAppendJSONCompact(t *testing.T) {
	e := New(Input{ID: "e2", Time: t0, AppID: "app", Flow: FlowClientCredentials}, conditional.Result{Status: conditional.StatusNotApplied})
	got, err := e.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"e2","createdDateTime":"2026-03-01T12:00:00Z","appId":"app","conditionalAccessStatus":"notApplied",` +
		`"riskLevelDuringSignIn":"none","riskDetail":"none","status":{},"appliedConditionalAccessPolicies":[],` +
		`"authenticationDetails":[],"deviceDetail":{},"latch":{"flow":"clientCredentials","outcome":"allow",` +
		`"authenticationStrengthsSatisfied":[]}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
