package httpapi

import (
	"fmt"
	"strings"
)

// The leaves of the $filter grammar: properties, comparisons, startswith, any(…) and literals.

// resolveProp maps a property token to its canonical name and kind. Inside any(…) only the
// lambda variable may be named, as a string.
func (p *filterParser) resolveProp(t filterTok) (filterProp, error) {
	if p.lambdaVar != "" {
		if t.text != p.lambdaVar {
			return filterProp{}, p.unsupported(fmt.Sprintf(
				"Inside any(%s:…) only the variable '%s' can be used, not '%s'.", p.lambdaVar, p.lambdaVar, t.text))
		}
		return filterProp{Name: t.text, Kind: filterString}, nil
	}
	prop, ok := p.schema.Props[strings.ToLower(t.text)]
	if !ok || filterKeywords[strings.ToLower(t.text)] {
		return filterProp{}, p.unsupported(fmt.Sprintf(
			"Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", t.text, p.schema.Resource))
	}
	return prop, nil
}

// parseFunction reads "startswith(prop,'x')"; other functions are refused by name.
func (p *filterParser) parseFunction() (filterExpr, error) {
	name := p.next()
	if !strings.EqualFold(name.text, "startswith") {
		return nil, p.unsupported(fmt.Sprintf(
			"The function '%s' is not supported in $filter; use eq, ne, in, startswith, any, and, or, not.", name.text))
	}
	p.next() // "("
	propTok, err := p.expect(tokIdent, "a property name")
	if err != nil {
		return nil, err
	}
	prop, err := p.resolveProp(propTok)
	if err != nil {
		return nil, err
	}
	if prop.Kind != filterString {
		return nil, p.unsupported(fmt.Sprintf("startswith cannot be used on '%s'.", prop.Name))
	}
	if _, err := p.expect(tokComma, "','"); err != nil {
		return nil, err
	}
	prefix, err := p.expect(tokString, "a quoted string")
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	return filterStartsWith{Prop: prop.Name, Prefix: prefix.text}, nil
}

// parseLambda reads "/any(v:body)" after a list property.
func (p *filterParser) parseLambda(prop filterProp) (filterExpr, error) {
	p.next() // "/"
	fn, err := p.expect(tokIdent, "'any'")
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(fn.text, "any") {
		return nil, p.unsupported(fmt.Sprintf("Only the lambda operator 'any' is supported, not '%s'.", fn.text))
	}
	if prop.Kind != filterStringList || p.lambdaVar != "" {
		return nil, p.unsupported(fmt.Sprintf("The lambda operator 'any' cannot be used on '%s'.", prop.Name))
	}
	if _, err := p.expect(tokLParen, "'('"); err != nil {
		return nil, err
	}
	v, err := p.expect(tokIdent, "a lambda variable")
	if err != nil {
		return nil, err
	}
	if filterKeywords[strings.ToLower(v.text)] || !isLetter(v.text[0]) {
		return nil, p.syntaxError(v, "expected a lambda variable name")
	}
	if _, err := p.expect(tokColon, "':'"); err != nil {
		return nil, err
	}
	body, err := p.parseLambdaBody(v.text)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	return filterAny{Prop: prop.Name, Var: v.text, Body: body}, nil
}

func (p *filterParser) parseLambdaBody(v string) (filterExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.lambdaVar = v
	defer func() { p.depth--; p.lambdaVar = "" }()
	return p.parseOr()
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

// parseComparison reads "eq value", "ne value" or "in (values)" after a property.
func (p *filterParser) parseComparison(prop filterProp) (filterExpr, error) {
	if prop.Kind == filterStringList {
		return nil, p.unsupported(fmt.Sprintf("Filter on '%s' with %s/any(c:c eq 'value').", prop.Name, prop.Name))
	}
	opTok := p.next()
	if opTok.kind != tokIdent {
		return nil, p.syntaxError(opTok, "expected 'eq', 'ne' or 'in'")
	}
	switch op := strings.ToLower(opTok.text); op {
	case "eq", "ne":
		v, err := p.parseValue(prop)
		if err != nil {
			return nil, err
		}
		return filterCompare{Prop: prop.Name, Op: op, Value: v}, nil
	case "in":
		return p.parseInList(prop)
	default:
		return nil, p.unsupported(fmt.Sprintf(
			"The operator '%s' is not supported on '%s'; use eq, ne, in or startswith.", opTok.text, prop.Name))
	}
}

func (p *filterParser) parseInList(prop filterProp) (filterExpr, error) {
	if _, err := p.expect(tokLParen, "'('"); err != nil {
		return nil, err
	}
	var values []filterValue
	for {
		v, err := p.parseValue(prop)
		if err != nil {
			return nil, err
		}
		if values = append(values, v); len(values) > maxFilterIn {
			return nil, p.unsupported(fmt.Sprintf("An 'in' list may hold at most %d values.", maxFilterIn))
		}
		t := p.next()
		if t.kind == tokRParen {
			return filterIn{Prop: prop.Name, Values: values}, nil
		}
		if t.kind != tokComma {
			return nil, p.syntaxError(t, "expected ',' or ')'")
		}
	}
}

// parseValue reads a literal and checks that it fits the property's type.
func (p *filterParser) parseValue(prop filterProp) (filterValue, error) {
	t := p.next()
	var v filterValue
	switch {
	case t.kind == tokString:
		v = filterValue{Kind: valueString, Str: t.text}
	case isWord(t, "true") || isWord(t, "false"):
		v = filterValue{Kind: valueBool, Bool: isWord(t, "true")}
	case isWord(t, "null"):
		v = filterValue{Kind: valueNull}
	default:
		return v, p.syntaxError(t, "expected a quoted string, true, false or null")
	}
	if prop.Kind == filterBool && v.Kind != valueBool {
		return v, p.unsupported(fmt.Sprintf("'%s' can only be compared with true or false.", prop.Name))
	}
	if prop.Kind == filterString && v.Kind == valueBool {
		return v, p.unsupported(fmt.Sprintf("'%s' is a string: quote the value, e.g. %s eq 'value'.", prop.Name, prop.Name))
	}
	return v, nil
}
