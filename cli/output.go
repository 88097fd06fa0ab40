package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"

	jmespath "github.com/jmespath-community/go-jmespath"
	"gopkg.in/yaml.v3"
)

var formats = []string{"json", "jsonc", "none", "table", "tsv", "yaml", "yamlc"}

func validFormat(f string) bool { return slices.Contains(formats, f) }

// defaultOutput is the format when -o is absent: $LATCH_OUTPUT, then config.json's "output",
// then json. A config.json with unknown fields is an error rather than silently ignored.
func (a *app) defaultOutput() (string, error) {
	if f := a.getenv("LATCH_OUTPUT"); f != "" {
		return f, nil
	}
	dir, err := a.configDir()
	if err != nil {
		return "json", nil // no home: no config.json either
	}
	c, err := loadSettings(dir)
	if err != nil || c.Output == "" {
		return "json", err
	}
	return c.Output, nil
}

// tabled is a result together with az's table transformer for its command. The transformer
// is used only for -o table without --query, as az does; it returns rows and column order.
type tabled struct {
	value any
	table func(v any) (rows any, columns []string)
}

// print writes v to stdout in the chosen format after applying --query.
func (a *app) print(v any) error {
	var table func(any) (any, []string)
	if t, ok := v.(tabled); ok {
		v, table = t.value, t.table
	}
	data, err := toGeneric(v)
	if err != nil {
		return err
	}
	addResourceGroups(data)
	var order []string
	switch {
	case a.query != "":
		if data, err = jmespath.Search(a.query, data); err != nil {
			return usagef("argument --query: %v", err)
		}
		order = queryKeyOrder(a.query)
	case table != nil && a.output == "table":
		data, order = table(data)
	}
	out, err := render(a.output, integralNumbers(data), order)
	if err != nil {
		return err
	}
	_, err = io.WriteString(a.stdout, out)
	return err
}

// checkQuery compiles q so that a syntax error is reported before any request is made.
func checkQuery(q string) error {
	_, err := jmespath.Compile(q)
	return err
}

// toGeneric turns any JSON-encodable value into maps, slices, strings, float64, bool and nil,
// the shapes JMESPath and the formatters work on.
func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding the result: %w", err)
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// integralNumbers turns whole float64 values into int64, so that YAML, table and tsv print
// 1700000000 rather than 1.7e+09.
func integralNumbers(v any) any {
	switch t := v.(type) {
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
	case []any:
		for i := range t {
			t[i] = integralNumbers(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = integralNumbers(t[k])
		}
	}
	return v
}

// render formats v; order, when given, is the column order for table and tsv.
func render(format string, v any, order []string) (string, error) {
	switch format {
	case "json", "jsonc":
		var b strings.Builder
		writeJSON(&b, v, "", format == "jsonc")
		b.WriteByte('\n')
		return b.String(), nil
	case "yaml", "yamlc":
		return renderYAML(v, format == "yamlc")
	case "table":
		return renderTable(v, order)
	case "tsv":
		return renderTSV(v, order), nil
	}
	return "", nil
}

// ANSI colours for jsonc and yamlc.
const (
	colorKey    = "\x1b[94m"
	colorString = "\x1b[32m"
	colorNumber = "\x1b[36m"
	colorConst  = "\x1b[95m"
	colorReset  = "\x1b[0m"
)

// writeJSON writes v indented by two spaces with sorted keys, as az's json.dumps does, and
// with ANSI colours when color is set.
func writeJSON(b *strings.Builder, v any, indent string, color bool) {
	switch t := v.(type) {
	case map[string]any:
		writeJSONObject(b, t, indent, color)
	case []any:
		writeJSONArray(b, t, indent, color)
	case string:
		paint(b, colorString, jsonScalar(t), color)
	case nil, bool:
		paint(b, colorConst, jsonScalar(t), color)
	default:
		paint(b, colorNumber, jsonScalar(t), color)
	}
}

func writeJSONObject(b *strings.Builder, m map[string]any, indent string, color bool) {
	if len(m) == 0 {
		b.WriteString("{}")
		return
	}
	keys := sortedKeys(m)
	b.WriteString("{\n")
	for i, k := range keys {
		b.WriteString(indent + "  ")
		paint(b, colorKey, jsonScalar(k), color)
		b.WriteString(": ")
		writeJSON(b, m[k], indent+"  ", color)
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "}")
}

func writeJSONArray(b *strings.Builder, list []any, indent string, color bool) {
	if len(list) == 0 {
		b.WriteString("[]")
		return
	}
	b.WriteString("[\n")
	for i, item := range list {
		b.WriteString(indent + "  ")
		writeJSON(b, item, indent+"  ", color)
		if i < len(list)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "]")
}

// jsonScalar encodes one scalar without HTML escaping, so URLs with & stay readable.
func jsonScalar(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSuffix(buf.String(), "\n")
}

func paint(b *strings.Builder, color, s string, on bool) {
	if on {
		b.WriteString(color + s + colorReset)
		return
	}
	b.WriteString(s)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// yamlKey matches the key of a block mapping line, for yamlc.
var yamlKey = regexp.MustCompile(`(?m)^(\s*(?:- )?)([^\s:#-][^:\n]*):( |$)`)

func renderYAML(v any, color bool) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encoding the result as YAML: %w", err)
	}
	enc.Close()
	out := buf.String()
	if color {
		out = yamlKey.ReplaceAllString(out, "${1}"+colorKey+"${2}"+colorReset+":${3}")
	}
	return out, nil
}
