package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

// The kinds. Adding one means teaching every adapter's mapping about it.
const (
	Internal         Kind = iota // a fault of ours; the detail stays in the log
	Invalid                      // the request is malformed or breaks a rule
	NotFound                     // the named thing does not exist (or is not visible to the caller)
	Exists                       // a create collided with something that exists
	Conflict                     // a concurrent change or a single-use thing used twice
	Unauthenticated              // credentials are missing, wrong or expired
	PermissionDenied             // the caller is known but not allowed
	Expired                      // a code, token or pass outlived its lifetime
	TooMany                      // a rate or attempt limit was reached
	Unavailable                  // a dependency is down; retrying may help
)

var kindNames = [...]string{"internal", "invalid", "not found", "exists", "conflict",
	"unauthenticated", "permission denied", "expired", "too many", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Code is an external error code (Azure's, OAuth's) that an adapter should show instead of
// the one it would derive from the Kind, e.g. "RoleAssignmentExists" or "invalid_grant".
type Code string

// Error is the error type every package returns for anything a caller may act on.
type Error struct {
	Op   string // the operation, e.g. "store.RotateRefreshToken"
	Kind Kind
	Code Code   // optional external code
	Msg  string // a sentence the user can act on; safe to show
	Err  error  // the cause, for the log
}

// E builds an *Error. Arguments after the kind may be, in any order: a string (the user-facing
// message), a Code, or an error (the cause). A cause that is itself an *Error lends its Kind
// when kind is Internal, and its Msg and Code when those are empty.
func E(op string, kind Kind, args ...any) error {
	e := &Error{Op: op, Kind: kind}
	for _, a := range args {
		switch v := a.(type) {
		case string:
			e.Msg = v
		case Code:
			e.Code = v
		case error:
			e.Err = v
		case nil:
		default:
			panic(fmt.Sprintf("errs.E: unexpected argument %T", a))
		}
	}
	var inner *Error
	if errors.As(e.Err, &inner) {
		if e.Kind == Internal {
			e.Kind = inner.Kind
		}
		if e.Msg == "" {
			e.Msg = inner.Msg
		}
		if e.Code == "" {
			e.Code = inner.Code
		}
	}
	return e
}

// Errorf is E with a formatted message.
func Errorf(op string, kind Kind, format string, a ...any) error {
	return E(op, kind, fmt.Sprintf(format, a...))
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf reports the Kind of the outermost *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err carries kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Message is the user-facing sentence for err: its Msg, or for Internal errors and foreign
// errors a fixed text that reveals nothing.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Msg != "" && e.Kind != Internal {
		return e.Msg
	}
	if e != nil && e.Kind != Internal {
		return strings.ToUpper(e.Kind.String()[:1]) + e.Kind.String()[1:] + "."
	}
	return "An internal error occurred."
}

// CodeOf returns the external code carried by err, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
