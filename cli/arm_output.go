package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
)

// addResourceGroups gives every object whose ARM id names a resource inside a resource group
// a "resourceGroup" field, as az does for every command's result before --query and table
// output see it. Only ids of the form /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/
// {type}/{name}… qualify (the resource group itself does not), and keyVault references
// ("sourceVault") are left alone, as in az.
func addResourceGroups(v any) {
	switch t := v.(type) {
	case []any:
		for _, item := range t {
			addResourceGroups(item)
		}
	case map[string]any:
		if rg := resourceGroupOfID(t); rg != "" {
			t["resourceGroup"] = rg
		}
		for k, item := range t {
			if k != "sourceVault" {
				addResourceGroups(item)
			}
		}
	}
}

func resourceGroupOfID(obj map[string]any) string {
	for k := range obj {
		if strings.EqualFold(k, "resourceGroup") {
			return ""
		}
	}
	id, _ := obj["id"].(string)
	parts := strings.Split(id, "/")
	if len(parts) < 9 || parts[3] != "resourceGroups" {
		return ""
	}
	return parts[4]
}

// flatten lifts an ARM resource's "properties" to the top level, as az's SDK models print:
// {"id","name","type","properties":{"roleName"…}} becomes {"id","name","type","roleName"…}.
// renames gives the printed name of a property that would clash with a top-level field
// (a role definition's properties.type is printed as "roleType").
func flatten(res map[string]any, renames map[string]string) map[string]any {
	if res == nil {
		return nil
	}
	out := make(map[string]any, len(res))
	for k, v := range res {
		if k != "properties" {
			out[k] = v
		}
	}
	props, _ := res["properties"].(map[string]any)
	for k, v := range props {
		if r, ok := renames[k]; ok {
			k = r
		}
		out[k] = v
	}
	return out
}

func flattenAll(items []any, renames map[string]string) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		out = append(out, flatten(m, renames))
	}
	return out
}

// withDefaults fills fields az always prints (as null) when the server left them out, so that
// --query and tsv see the same keys.
func withDefaults(obj map[string]any, keys ...string) map[string]any {
	if obj == nil {
		return nil
	}
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			obj[k] = nil
		}
	}
	return obj
}

// readJSONArg reads az's JSON arguments: "@file", a path to a file, or JSON text.
func readJSONArg(value, flag string) (any, error) {
	text := value
	if name, ok := strings.CutPrefix(value, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, failf("cannot read %s for %s: %v", name, flag, err)
		}
		text = string(b)
	} else if b, err := os.ReadFile(value); err == nil {
		text = string(b)
	} else if !errors.Is(err, fs.ErrNotExist) && !looksLikeJSON(value) {
		return nil, failf("cannot read %s for %s: %v", value, flag, err)
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, failf("Failed to parse string as JSON for %s: %v", flag, err)
	}
	return v, nil
}

func looksLikeJSON(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}

// confirm asks "Are you sure…" as az does before a destructive command, unless yes is set.
// Without a terminal to ask on it refuses, as az does: a script must say --yes.
func (a *app) confirm(yes bool) error {
	if yes {
		return nil
	}
	f, ok := a.stdin.(*os.File)
	if !ok || !a.processEnv || !isTerminal(f) {
		a.warn("Unable to prompt for confirmation as no tty available. Use --yes.")
		return failf("Operation cancelled.")
	}
	in := bufio.NewReader(f)
	for {
		// The question goes to stderr, so that stdout stays the command's result.
		io.WriteString(a.stderr, "Are you sure you want to perform this operation? (y/n): ")
		line, err := in.ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y":
			return nil
		case "n":
			return failf("Operation cancelled.")
		}
		if err != nil {
			return failf("Operation cancelled.")
		}
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
