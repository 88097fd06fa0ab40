package httpapi

import (
	"reflect"
	"sort"
)

// RoutePatterns lists every pattern registered on the server's mux, for the route-inventory
// test. net/http offers no listing, so it walks the mux's unexported routing tree with
// reflection, collecting every pattern's original string; if a Go release renames those
// fields the walk finds nothing and the test says so.
func (s *Server) RoutePatterns() []string {
	seen := map[uintptr]bool{}
	set := map[string]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(v.Elem())
		case reflect.Struct:
			if v.Type().Name() == "pattern" {
				if f := v.FieldByName("str"); f.IsValid() {
					set[f.String()] = true
				}
			}
			for i := range v.NumField() {
				if name := v.Type().Field(i).Name; name != "handler" && name != "mux121" {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Value())
			}
		}
	}
	walk(reflect.ValueOf(s.routes()))
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// SessionCookie is the name of the browser session cookie.
const SessionCookie = sessionCookie
