package httpapi

import (
	"fmt"
	"strings"

	"github.com/latchsh/latch/errs"
)

// This file holds the $filter language: the subset of OData that Graph clients send to find
// directory objects (az: "userPrincipalName eq 'alice@contoso.test'",
// "servicePrincipalNames/any(c:c eq 'x')"). A tokenizer feeds a recursive-descent parser that
// checks every property against the collection's schema, so an unsupported query is refused
// up front instead of silently matching nothing.

// Limits on a $filter: Graph's own are similar, and they keep a hostile query cheap to refuse.
const (
	maxFilterLen   = 4 << 10 // bytes of the raw $filter value
	maxFilterDepth = 32      // nested parentheses, not, and lambdas
	maxFilterIn    = 50      // values in one "in (…)" list
)

// filterKind is the type of a filterable property.
type filterKind uint8

const (
	filterString     filterKind = iota // compared case-insensitively, may be null
	filterBool                         // true or false
	filterStringList                   // only reachable through any(…)
)

// filterSchema names the properties a collection may be filtered on. Resource is the entity
// name shown in error messages ("User"); Props is keyed by lower-cased property name.
type filterSchema struct {
	Resource string
	Props    map[string]filterProp
}

// filterProp is one filterable property with its canonical spelling.
type filterProp struct {
	Name string
	Kind filterKind
}

// newFilterSchema builds a schema from canonical names and their kinds.
func newFilterSchema(resource string, props map[string]filterKind) filterSchema {
	s := filterSchema{Resource: resource, Props: make(map[string]filterProp, len(props))}
	for name, k := range props {
		s.Props[strings.ToLower(name)] = filterProp{Name: name, Kind: k}
	}
	return s
}

// filterExpr is a parsed $filter. String gives the canonical text, which parses back to an
// equal tree; match evaluates the expression against an object's Graph JSON.
type filterExpr interface {
	String() string
	match(obj map[string]any) bool
}

// filterValue is a literal: a string, a boolean, or null.
type filterValue struct {
	Kind filterValueKind
	Str  string
	Bool bool
}

type filterValueKind uint8

const (
	valueString filterValueKind = iota
	valueBool
	valueNull
)

func (v filterValue) String() string {
	switch v.Kind {
	case valueBool:
		if v.Bool {
			return "true"
		}
		return "false"
	case valueNull:
		return "null"
	}
	return "'" + strings.ReplaceAll(v.Str, "'", "''") + "'"
}

// filterCompare is "prop eq value" or "prop ne value".
type filterCompare struct {
	Prop  string
	Op    string // "eq" or "ne"
	Value filterValue
}

// filterIn is "prop in (v1, v2, …)".
type filterIn struct {
	Prop   string
	Values []filterValue
}

// filterStartsWith is "startswith(prop,'prefix')".
type filterStartsWith struct {
	Prop   string
	Prefix string
}

// filterAny is "prop/any(v:body)": true when body holds for some element of the list prop,
// with the element bound to Var.
type filterAny struct {
	Prop string
	Var  string
	Body filterExpr
}

// filterNot negates X.
type filterNot struct{ X filterExpr }

// filterBinary is an n-ary "and" or "or". Chains are kept flat so that the canonical text
// needs no more parentheses than the input had.
type filterBinary struct {
	Op    string // "and" or "or"
	Terms []filterExpr
}

func (e filterCompare) String() string { return e.Prop + " " + e.Op + " " + e.Value.String() }

func (e filterIn) String() string {
	parts := make([]string, len(e.Values))
	for i, v := range e.Values {
		parts[i] = v.String()
	}
	return e.Prop + " in (" + strings.Join(parts, ",") + ")"
}

func (e filterStartsWith) String() string {
	return "startswith(" + e.Prop + "," + filterValue{Str: e.Prefix}.String() + ")"
}

func (e filterAny) String() string {
	return e.Prop + "/any(" + e.Var + ":" + e.Body.String() + ")"
}

func (e filterNot) String() string {
	if _, ok := e.X.(filterBinary); ok {
		return "not (" + e.X.String() + ")"
	}
	return "not " + e.X.String()
}

func (e filterBinary) String() string {
	parts := make([]string, len(e.Terms))
	for i, t := range e.Terms {
		parts[i] = t.String()
		// "and" binds tighter than "or", so only an "or" inside an "and" needs parentheses.
		if b, ok := t.(filterBinary); ok && b.Op == "or" && e.Op == "and" {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " "+e.Op+" ")
}

// parseFilter parses a $filter value against schema. Syntax errors are Invalid with code
// BadRequest; properties or operators the schema does not support are Invalid with code
// Request_UnsupportedQuery.
func parseFilter(src string, schema filterSchema) (filterExpr, error) {
	const op = "httpapi.parseFilter"
	if len(src) > maxFilterLen {
		return nil, errs.E(op, errs.Invalid, errs.Code("Request_UnsupportedQuery"),
			fmt.Sprintf("The $filter is longer than %d bytes; narrow the query.", maxFilterLen))
	}
	toks, err := tokenizeFilter(src)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, schema: schema}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.syntaxError(t, "expected 'and', 'or' or the end of the filter")
	}
	return e, nil
}
