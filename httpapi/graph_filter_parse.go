package httpapi

import (
	"fmt"
	"strings"

	"github.com/latchsh/latch/errs"
)

// filterParser is a recursive-descent parser over the tokens of one $filter:
//
//	or      = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" or ")" | "startswith" "(" prop "," string ")"
//	        | prop "/" "any" "(" var ":" or ")"
//	        | prop ("eq" | "ne") value | prop "in" "(" value { "," value } ")"
//	value   = string | "true" | "false" | "null"
type filterParser struct {
	toks      []filterTok
	i         int
	schema    filterSchema
	depth     int
	lambdaVar string // the variable of the enclosing any(…), the only name its body may use
}

// filterKeywords may not name a lambda variable; they are matched case-insensitively.
var filterKeywords = map[string]bool{"and": true, "or": true, "not": true, "eq": true, "ne": true,
	"in": true, "true": true, "false": true, "null": true, "any": true, "all": true, "startswith": true}

func (p *filterParser) peek() filterTok { return p.toks[p.i] }

func (p *filterParser) next() filterTok {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// isWord reports whether t is the keyword w.
func isWord(t filterTok, w string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, w) }

func (p *filterParser) expect(kind filterTokKind, what string) (filterTok, error) {
	t := p.next()
	if t.kind != kind {
		return t, p.syntaxError(t, "expected "+what)
	}
	return t, nil
}

func (p *filterParser) syntaxError(t filterTok, what string) error {
	if t.kind == tokEOF {
		return filterSyntaxError(t.pos, what+" but the filter ended")
	}
	return filterSyntaxError(t.pos, fmt.Sprintf("%s but found %q", what, t.text))
}

func (p *filterParser) unsupported(msg string) error {
	return errs.E("httpapi.parseFilter", errs.Invalid, errs.Code("Request_UnsupportedQuery"), msg)
}

// enter guards recursion so a deeply nested filter is refused instead of exhausting the stack.
func (p *filterParser) enter() error {
	p.depth++
	if p.depth > maxFilterDepth {
		return p.unsupported(fmt.Sprintf("The $filter nests more than %d levels of parentheses, 'not' and 'any'; simplify it.", maxFilterDepth))
	}
	return nil
}

func (p *filterParser) parseOr() (filterExpr, error) { return p.parseChain("or", p.parseAnd) }

func (p *filterParser) parseAnd() (filterExpr, error) { return p.parseChain("and", p.parseUnary) }

// parseChain reads operand { op operand } into one flat filterBinary, merging operands that
// are themselves op-chains (from parentheses), since and/or are associative.
func (p *filterParser) parseChain(op string, operand func() (filterExpr, error)) (filterExpr, error) {
	var terms []filterExpr
	for {
		e, err := operand()
		if err != nil {
			return nil, err
		}
		if b, ok := e.(filterBinary); ok && b.Op == op {
			terms = append(terms, b.Terms...)
		} else {
			terms = append(terms, e)
		}
		if !isWord(p.peek(), op) {
			break
		}
		p.next()
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return filterBinary{Op: op, Terms: terms}, nil
}

func (p *filterParser) parseUnary() (filterExpr, error) {
	if !isWord(p.peek(), "not") {
		return p.parsePrimary()
	}
	p.next()
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return filterNot{X: x}, nil
}

func (p *filterParser) parsePrimary() (filterExpr, error) {
	t := p.peek()
	switch {
	case t.kind == tokLParen:
		return p.parseGroup()
	case t.kind != tokIdent:
		return nil, p.syntaxError(t, "expected a property name, 'not', 'startswith(' or '('")
	case p.toks[p.i+1].kind == tokLParen:
		return p.parseFunction()
	}
	p.next()
	prop, err := p.resolveProp(t)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tokSlash {
		return p.parseLambda(prop)
	}
	return p.parseComparison(prop)
}

// parseGroup reads "(" or ")".
func (p *filterParser) parseGroup() (filterExpr, error) {
	p.next()
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	return e, nil
}
