package httpapi

import "strings"

// Evaluation of a parsed $filter against an object's Graph JSON (the map the handlers
// answer with), so a filter sees exactly the values the client would read back. Strings
// compare case-insensitively, as Graph compares directory strings.

func (e filterCompare) match(obj map[string]any) bool {
	eq := valueEquals(obj[e.Prop], e.Value)
	if e.Op == "ne" {
		return !eq
	}
	return eq
}

func (e filterIn) match(obj map[string]any) bool {
	for _, v := range e.Values {
		if valueEquals(obj[e.Prop], v) {
			return true
		}
	}
	return false
}

func (e filterStartsWith) match(obj map[string]any) bool {
	s, ok := obj[e.Prop].(string)
	return ok && strings.HasPrefix(strings.ToLower(s), strings.ToLower(e.Prefix))
}

func (e filterAny) match(obj map[string]any) bool {
	list, _ := obj[e.Prop].([]string)
	for _, item := range list {
		if e.Body.match(map[string]any{e.Var: item}) {
			return true
		}
	}
	return false
}

func (e filterNot) match(obj map[string]any) bool { return !e.X.match(obj) }

func (e filterBinary) match(obj map[string]any) bool {
	for _, t := range e.Terms {
		if t.match(obj) != (e.Op == "and") {
			// A false term decides an "and", a true term decides an "or".
			return e.Op == "or"
		}
	}
	return e.Op == "and"
}

// valueEquals compares a JSON value with a literal. A missing value, nil and "" all equal
// null, since Graph shows an unset string property as null.
func valueEquals(v any, lit filterValue) bool {
	switch lit.Kind {
	case valueNull:
		s, isString := v.(string)
		return v == nil || isString && s == ""
	case valueBool:
		b, ok := v.(bool)
		return ok && b == lit.Bool
	}
	s, ok := v.(string)
	return ok && strings.EqualFold(s, lit.Str)
}
