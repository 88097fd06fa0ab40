package cli

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// users is a Graph-like list: nested objects, lists, nulls, booleans and numbers.
var users = []any{
	map[string]any{"id": "u1", "@odata.type": "#microsoft.graph.user", "displayName": "Alice", "accountEnabled": true, "age": 30.0,
		"userPrincipalName": "alice@contoso.test", "mail": nil, "businessPhones": []any{"1", "2"},
		"manager": map[string]any{"id": "m"}},
	map[string]any{"id": "u2", "displayName": "Bob & Co <b>", "accountEnabled": false, "age": 1.5,
		"userPrincipalName": "bob@contoso.test", "mail": "bob@contoso.test", "businessPhones": []any{},
		"manager": nil},
}

func TestRenderGolden(t *testing.T) {
	cases := []struct {
		name, format string
		v            any
		order        []string
		want         string
	}{
		{"ok/table-list", "table", users, nil,
			"AccountEnabled    Age    DisplayName    UserPrincipalName    Mail\n" +
				"----------------  -----  -------------  -------------------  ----------------\n" +
				"True              30     Alice          alice@contoso.test\n" +
				"False             1.5    Bob & Co <b>   bob@contoso.test     bob@contoso.test\n"},
		{"ok/table-query-order", "table", []any{map[string]any{"Upn": "a@x", "Name": "A"}}, []string{"Upn", "Name"},
			"Upn    Name\n-----  ------\na@x    A\n"},
		{"ok/table-scalar", "table", "hello", nil, "Result\n--------\nhello\n"},
		{"ok/table-list-of-lists", "table", []any{[]any{"a", true}}, nil, "Column1    Column2\n---------  ---------\na          True\n"},
		{"ok/table-empty", "table", []any{}, nil, "\n"},
		{"ok/tsv-list", "tsv", users, nil,
			"#microsoft.graph.user\tTrue\t30\t2\tAlice\tu1\tNone\t\talice@contoso.test\n" +
				"False\t1.5\t0\tBob & Co <b>\tu2\tbob@contoso.test\tNone\tbob@contoso.test\n"},
		{"ok/tsv-query-order", "tsv", []any{map[string]any{"b": "2", "a": "1"}}, []string{"b", "a"}, "2\t1\n"},
		{"ok/tsv-scalars", "tsv", []any{true, nil, "x", 7.0}, nil, "true\nNone\nx\n7\n"},
		{"ok/yaml", "yaml", map[string]any{"b": []any{"x", map[string]any{"k": 1.0}}, "a": nil, "c": true}, nil,
			"a: null\nb:\n  - x\n  - k: 1\nc: true\n"},
		{"ok/json", "json", map[string]any{"url": "https://x/?a=1&b=<2>", "list": []any{}, "obj": map[string]any{}, "n": 1700000000.0}, nil,
			"{\n  \"list\": [],\n  \"n\": 1700000000,\n  \"obj\": {},\n  \"url\": \"https://x/?a=1&b=<2>\"\n}\n"},
		{"ok/none", "none", users, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := toGeneric(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := render(tc.format, integralNumbers(v), tc.order)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}

func TestRenderTableRefusesNoFields(t *testing.T) {
	_, err := render("table", []any{map[string]any{"id": "x", "nested": map[string]any{}}}, nil)
	if err == nil || err.Error() != "Unable to extract fields for table." {
		t.Fatalf("err = %v", err)
	}
}

func TestColouredFormats(t *testing.T) {
	v := map[string]any{"name": "x", "n": 1.0, "ok": true}
	for _, f := range []string{"jsonc", "yamlc"} {
		got, err := render(f, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, colorKey+"name"+colorReset) && !strings.Contains(got, colorKey+`"name"`+colorReset) {
			t.Errorf("%s has no coloured key: %q", f, got)
		}
		plain := strings.NewReplacer(colorKey, "", colorString, "", colorNumber, "", colorConst, "", colorReset, "").Replace(got)
		uncoloured, _ := render(strings.TrimSuffix(f, "c"), v, nil)
		if plain != uncoloured {
			t.Errorf("%s without colours differs from %s:\n%q\n%q", f, strings.TrimSuffix(f, "c"), plain, uncoloured)
		}
	}
}

func TestQueryKeyOrder(t *testing.T) {
	cases := map[string][]string{
		"[].{Name:displayName, Upn:userPrincipalName}": {"Name", "Upn"},
		"[?accountEnabled].{z:id, a:mail}":             {"z", "a"},
		"value | [].{b:b, a:a}":                        {"b", "a"},
		"{x:a, w:b}":                                   {"x", "w"},
		"[].displayName":                               nil,
		"[0]":                                          nil,
		"[.":                                           nil,
	}
	for q, want := range cases {
		if got := queryKeyOrder(q); !reflect.DeepEqual(got, want) {
			t.Errorf("queryKeyOrder(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestPrintAppliesQueryBeforeFormat(t *testing.T) {
	var out bytes.Buffer
	a := newApp(nil, &out, &out, func(string) string { return "" })
	a.output, a.query = "table", "[?accountEnabled].{UPN:userPrincipalName, Name:displayName}"
	if err := a.print(users); err != nil {
		t.Fatal(err)
	}
	want := "UPN                 Name\n------------------  ------\nalice@contoso.test  Alice\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestOutputDefaults(t *testing.T) {
	h := newHarness(t)
	h.login()
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"fail/bad-output", nil, []string{"-o", "xml"}, 2, "ERROR: argument --output/-o: invalid choice: 'xml'"},
		{"fail/bad-query", nil, []string{"--query", "[?"}, 2, "ERROR: argument --query: invalid jmespath_type value: '[?'"},
		{"fail/bad-env-output", map[string]string{"LATCH_OUTPUT": "html"}, nil, 2, "invalid choice: 'html'"},
		{"ok/env-output", map[string]string{"LATCH_OUTPUT": "tsv"}, []string{"--query", "name"}, 0, "Production\n"},
		{"ok/flag-beats-env", map[string]string{"LATCH_OUTPUT": "table"}, []string{"--query", "name", "-o", "json"}, 0, "\"Production\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				h.env[k] = v
			}
			defer func() {
				for k := range tc.env {
					delete(h.env, k)
				}
			}()
			res := h.run(append([]string{"account", "show"}, tc.args...)...)
			got := res.stdout
			if tc.code != 0 {
				got = res.stderr
			}
			if res.code != tc.code || !strings.Contains(got, tc.want) {
				t.Errorf("exit %d, out %q; want %d, %q", res.code, got, tc.code, tc.want)
			}
		})
	}
}

func TestOutputFromConfigFile(t *testing.T) {
	h := newHarness(t)
	h.login()
	if err := writeFileAtomic(h.dir, settingsFile, []byte(`{"output":"yaml"}`)); err != nil {
		t.Fatal(err)
	}
	if got := h.run("account", "show", "--query", "state").stdout; got != "Enabled\n" {
		t.Errorf("config.json output: %q", got)
	}
}
