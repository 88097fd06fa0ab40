package httpapi

import (
	"fmt"
	"strings"

	"github.com/latchsh/latch/errs"
)

// filterTokKind is the kind of one $filter token.
type filterTokKind uint8

const (
	tokEOF    filterTokKind = iota
	tokIdent                // a property, keyword, function or lambda variable
	tokString               // a quoted literal, already unescaped
	tokLParen
	tokRParen
	tokComma
	tokColon
	tokSlash
)

// filterTok is one token; pos is its byte offset, for error messages.
type filterTok struct {
	kind filterTokKind
	text string
	pos  int
}

var filterPunct = map[byte]filterTokKind{
	'(': tokLParen, ')': tokRParen, ',': tokComma, ':': tokColon, '/': tokSlash,
}

// tokenizeFilter splits src into tokens, ending with a tokEOF.
func tokenizeFilter(src string) ([]filterTok, error) {
	var toks []filterTok
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case filterPunct[c] != tokEOF:
			toks = append(toks, filterTok{kind: filterPunct[c], text: string(c), pos: i})
			i++
		case c == '\'':
			s, n, err := lexFilterString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, filterTok{kind: tokString, text: s, pos: i})
			i += n
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			toks = append(toks, filterTok{kind: tokIdent, text: src[i:j], pos: i})
			i = j
		default:
			return nil, filterSyntaxError(i, fmt.Sprintf("unexpected character %q", rune(c)))
		}
	}
	return append(toks, filterTok{kind: tokEOF, pos: len(src)}), nil
}

// lexFilterString reads the OData string literal starting at src[start] (a quote), where
// two quotes in a row stand for one. It returns the unescaped value and the bytes consumed.
func lexFilterString(src string, start int) (string, int, error) {
	var b strings.Builder
	i := start + 1
	for i < len(src) {
		if src[i] != '\'' {
			b.WriteByte(src[i])
			i++
			continue
		}
		if i+1 < len(src) && src[i+1] == '\'' {
			b.WriteByte('\'')
			i += 2
			continue
		}
		return b.String(), i + 1 - start, nil
	}
	return "", 0, filterSyntaxError(start, "the string starting here has no closing quote (write '' for a quote inside it)")
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// filterSyntaxError is Graph's answer to a filter it cannot read.
func filterSyntaxError(pos int, what string) error {
	return errs.E("httpapi.parseFilter", errs.Invalid, errs.Code("BadRequest"),
		fmt.Sprintf("Invalid filter clause: %s at position %d.", what, pos))
}
