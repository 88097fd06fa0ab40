package cli

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	jmespath "github.com/jmespath-community/go-jmespath"
	"github.com/jmespath-community/go-jmespath/pkg/parsing"
)

// tableSkipKeys are never table columns, as in az's automatic table output.
var tableSkipKeys = []string{"id", "type", "etag"}

// skipColumn drops az's skipped keys and OData annotations ("@odata.type"), which describe
// the object rather than being one of its fields.
func skipColumn(k string) bool {
	return slices.Contains(tableSkipKeys, k) || strings.HasPrefix(k, "@odata.")
}

// cell is one column of one table row.
type cell struct{ header, value string }

// renderTable writes az's "table" output: a header of capitalised keys, a row of dashes, and
// one line per item holding its top-level scalar fields; nested objects and lists are dropped.
// A column is as wide as its longest value or its header plus two, columns are separated by
// two spaces, and trailing blanks are trimmed, as az's tabulate "simple" format does.
func renderTable(v any, order []string) (string, error) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	if len(items) == 0 {
		return "\n", nil
	}
	rows := make([][]cell, len(items))
	for i, item := range items {
		rows[i] = tableRow(item, order)
	}
	headers := tableHeaders(rows)
	if len(headers) == 0 {
		return "", errors.New("Unable to extract fields for table.")
	}
	return formatTable(headers, rows), nil
}

func tableRow(item any, order []string) []cell {
	switch t := item.(type) {
	case map[string]any:
		var row []cell
		for _, k := range orderedKeys(t, order) {
			v := t[k]
			if skipColumn(k) || v == nil || isContainer(v) {
				continue
			}
			row = append(row, cell{capitalize(k), tableValue(v)})
		}
		return row
	case []any:
		row := make([]cell, len(t))
		for i, v := range t {
			row[i] = cell{"Column" + strconv.Itoa(i+1), tableValue(v)}
		}
		return row
	}
	return []cell{{"Result", tableValue(item)}}
}

// tableHeaders is the union of the rows' columns in order of first appearance.
func tableHeaders(rows [][]cell) []string {
	var headers []string
	for _, row := range rows {
		for _, c := range row {
			if !slices.Contains(headers, c.header) {
				headers = append(headers, c.header)
			}
		}
	}
	return headers
}

func formatTable(headers []string, rows [][]cell) string {
	grid := make([][]string, len(rows))
	widths := make([]int, len(headers))
	for j, h := range headers {
		widths[j] = utf8.RuneCountInString(h) + 2
	}
	for i, row := range rows {
		grid[i] = make([]string, len(headers))
		for _, c := range row {
			j := slices.Index(headers, c.header)
			grid[i][j] = c.value
			widths[j] = max(widths[j], utf8.RuneCountInString(c.value))
		}
	}
	var b strings.Builder
	writeTableLine(&b, headers, widths)
	dashes := make([]string, len(widths))
	for j, w := range widths {
		dashes[j] = strings.Repeat("-", w)
	}
	writeTableLine(&b, dashes, widths)
	for _, line := range grid {
		writeTableLine(&b, line, widths)
	}
	return b.String()
}

// writeTableLine pads every cell and then trims the line's end, as tabulate does.
func writeTableLine(b *strings.Builder, cells []string, widths []int) {
	var line strings.Builder
	for j, c := range cells {
		if j > 0 {
			line.WriteString("  ")
		}
		line.WriteString(c + strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)))
	}
	b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
}

// tableValue prints a scalar as Python's str() would, which is what az's table shows.
func tableValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case bool:
		if t {
			return "True"
		}
		return "False"
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// orderedKeys lists m's keys: those named in order first, in that order, then the rest sorted.
func orderedKeys(m map[string]any, order []string) []string {
	var keys []string
	for _, k := range order {
		if _, ok := m[k]; ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// renderTSV writes az's "tsv" output: one line per item, its values separated by tabs in key
// order, nested lists as their length, nested objects as empty fields, no header.
func renderTSV(v any, order []string) string {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var b strings.Builder
	for _, item := range items {
		b.WriteString(tsvRow(item, order))
		b.WriteByte('\n')
	}
	return b.String()
}

func tsvRow(item any, order []string) string {
	var fields []string
	switch t := item.(type) {
	case map[string]any:
		for _, k := range orderedKeys(t, order) {
			fields = append(fields, tsvField(t[k]))
		}
	case []any:
		for _, v := range t {
			fields = append(fields, tsvField(v))
		}
	case bool:
		// az lower-cases a boolean only when it is the whole row.
		return strconv.FormatBool(t)
	default:
		return tsvField(t)
	}
	return strings.Join(fields, "\t")
}

func tsvField(v any) string {
	switch t := v.(type) {
	case []any:
		return strconv.Itoa(len(t))
	case map[string]any:
		return ""
	}
	return tableValue(v)
}

// queryKeyOrder finds the keys of the multiselect hash that shapes a query's result
// ("[].{Name:name, Id:id}"), so that table and tsv columns follow the query as in az, whose
// JMESPath results keep insertion order. Other queries give nil: columns are sorted.
func queryKeyOrder(q string) []string {
	node, err := jmespath.NewParser().Parse(q)
	if err != nil {
		return nil
	}
	for range 64 {
		switch node.NodeType {
		case parsing.ASTMultiSelectHash:
			keys := make([]string, 0, len(node.Children))
			for _, kv := range node.Children {
				if k, ok := kv.Value.(string); ok {
					keys = append(keys, k)
				}
			}
			return keys
		case parsing.ASTFilterProjection:
			node = node.Children[1]
		case parsing.ASTProjection, parsing.ASTValueProjection, parsing.ASTPipe, parsing.ASTSubexpression:
			node = node.Children[len(node.Children)-1]
		default:
			return nil
		}
	}
	return nil
}
