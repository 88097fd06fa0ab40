package signinlog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// Filter is the $filter subset Latch accepts on sign-ins: clauses joined by "and", each at
// most once per field:
//
//	userId eq '…'                   userPrincipalName eq '…' (case-insensitive)
//	appId eq '…'                    createdDateTime ge|gt|le|lt 2026-03-01T00:00:00Z
//	status/errorCode eq 0           (success)
//	status/errorCode ne 0           (failure)
//	status/errorCode eq 53003       (that error)
//
// String literals are single-quoted with ” for a quote, as OData writes them. The zero
// Filter matches everything. A store translates the fields to its query; Match is the
// reference meaning.
type Filter struct {
	UserID            string
	UserPrincipalName string
	AppID             string
	From              time.Time // inclusive; zero for no bound
	To                time.Time // exclusive; zero for no bound
	Status            string    // "", StatusSuccess or StatusFailure
	ErrorCode         int       // with Status failure: only this error, when non-zero
}

// Filter statuses.
const (
	StatusSuccess = "success"
	StatusFailure = "failure"
)

// MaxFilterLength caps a $filter expression.
const MaxFilterLength = 2048

// ParseFilter reads a $filter expression ("" is the zero Filter).
//
// Errors: Invalid, naming the clause that is not in the subset, or a field given twice.
func ParseFilter(expr string) (Filter, error) {
	const op = "signinlog.ParseFilter"
	var f Filter
	if len(expr) > MaxFilterLength {
		return f, errs.Errorf(op, errs.Invalid, "The $filter expression is longer than %d characters.", MaxFilterLength)
	}
	toks, err := tokens(expr)
	if err != nil {
		return f, errs.E(op, errs.Invalid, "Invalid $filter: "+err.Error()+".")
	}
	if len(toks) == 0 {
		return f, nil
	}
	if len(toks)%4 != 3 {
		return f, errs.E(op, errs.Invalid, "Invalid $filter: write clauses as 'field operator value', joined by 'and'.")
	}
	seen := map[string]bool{}
	for i := 0; i < len(toks); i += 4 {
		if i > 0 && !strings.EqualFold(toks[i-1], "and") {
			return f, errs.Errorf(op, errs.Invalid, "Invalid $filter: clauses must be joined by 'and', not %q.", clip(toks[i-1]))
		}
		if err := f.clause(toks[i], strings.ToLower(toks[i+1]), toks[i+2], seen); err != nil {
			return f, errs.E(op, errs.Invalid, "Invalid $filter clause '"+clip(strings.Join(toks[i:i+3], " "))+"': "+err.Error()+".")
		}
	}
	return f, nil
}

// clause applies one "field op value"; seen keeps each bound to one clause.
func (f *Filter) clause(field, op, value string, seen map[string]bool) error {
	slot := field
	if field == "createdDateTime" {
		slot += map[string]string{"ge": "from", "gt": "from", "le": "to", "lt": "to"}[op]
	}
	if seen[slot] {
		return fmt.Errorf("%s is already filtered on", field)
	}
	seen[slot] = true
	switch field {
	case "userId", "userPrincipalName", "appId":
		return f.stringClause(field, op, value)
	case "createdDateTime":
		return f.timeClause(op, value)
	case "status/errorCode":
		return f.statusClause(op, value)
	}
	return fmt.Errorf("only userId, userPrincipalName, appId, createdDateTime and status/errorCode can be filtered on")
}

func (f *Filter) stringClause(field, op, value string) error {
	s, ok := unquote(value)
	if op != "eq" || !ok {
		return fmt.Errorf("%s takes eq and a quoted string", field)
	}
	switch field {
	case "userId":
		f.UserID = s
	case "userPrincipalName":
		f.UserPrincipalName = s
	default:
		f.AppID = s
	}
	return nil
}

func (f *Filter) timeClause(op, value string) error {
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return fmt.Errorf("createdDateTime takes an unquoted date-time such as 2026-03-01T00:00:00Z")
	}
	switch op {
	case "ge":
		f.From = t
	case "gt":
		f.From = t.Add(time.Nanosecond)
	case "lt":
		f.To = t
	case "le":
		f.To = t.Add(time.Nanosecond)
	default:
		return fmt.Errorf("createdDateTime takes ge, gt, le or lt")
	}
	return nil
}

func (f *Filter) statusClause(op, value string) error {
	n, err := strconv.Atoi(value)
	switch {
	case err != nil || n < 0:
		return fmt.Errorf("status/errorCode takes a number")
	case op == "eq" && n == 0:
		f.Status = StatusSuccess
	case op == "ne" && n == 0:
		f.Status = StatusFailure
	case op == "eq":
		f.Status, f.ErrorCode = StatusFailure, n
	default:
		return fmt.Errorf("status/errorCode takes eq 0, ne 0 or eq and an error number")
	}
	return nil
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Entry) bool {
	switch {
	case f.UserID != "" && !strings.EqualFold(f.UserID, e.UserID),
		f.UserPrincipalName != "" && !strings.EqualFold(f.UserPrincipalName, e.UserPrincipalName),
		f.AppID != "" && !strings.EqualFold(f.AppID, e.AppID),
		!f.From.IsZero() && e.CreatedDateTime.Before(f.From),
		!f.To.IsZero() && !e.CreatedDateTime.Before(f.To),
		f.Status == StatusSuccess && e.Status.ErrorCode != 0,
		f.Status == StatusFailure && e.Status.ErrorCode == 0,
		f.ErrorCode != 0 && e.Status.ErrorCode != f.ErrorCode:
		return false
	}
	return true
}

// tokens splits expr on spaces outside quoted strings, keeping quotes on string tokens.
func tokens(expr string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\'' && inQuote && i+1 < len(expr) && expr[i+1] == '\'':
			cur.WriteString("''")
			i++
		case c == '\'':
			inQuote = !inQuote
			cur.WriteByte(c)
		case c == ' ' && !inQuote:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if inQuote {
		return nil, fmt.Errorf("a string is not closed")
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

// unquote turns 'it”s' into it's; ok is false for anything not a whole quoted string.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	inner := s[1 : len(s)-1]
	if strings.Count(strings.ReplaceAll(inner, "''", ""), "'") > 0 {
		return "", false
	}
	return strings.ReplaceAll(inner, "''", "'"), true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
