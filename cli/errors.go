package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses, as az uses them.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
)

// cliError is a refusal decided by the command line itself, with the exit status to use.
type cliError struct {
	msg  string
	exit int
}

func (e *cliError) Error() string { return e.msg }

func failf(format string, args ...any) error {
	return &cliError{msg: sprintf(format, args...), exit: exitFailure}
}

func usagef(format string, args ...any) error {
	return &cliError{msg: sprintf(format, args...), exit: exitUsage}
}

func notFoundf(format string, args ...any) error {
	return &cliError{msg: sprintf(format, args...), exit: exitNotFound}
}

// apiError is an error answer from the ARM- or Graph-shaped API: {"error":{"code","message"}}.
type apiError struct {
	Status        int
	Code, Message string
	CorrelationID string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return "(" + e.Code + ") " + e.Message
}

// oauthError is an error answer from the token service: {"error","error_description"}.
type oauthError struct {
	Status            int
	Code, Description string
	CorrelationID     string
}

func (e *oauthError) Error() string {
	msg := "(" + e.Code + ") " + e.Description
	if e.Code == "invalid_grant" || e.Code == "interaction_required" {
		// The refresh token is gone or no longer enough: only a new sign-in helps.
		msg += "\nTo re-authenticate, please run:\nlatch login"
	}
	return msg
}

// runError marks an error returned by a command's own work, as opposed to cobra's argument
// and flag checks, which are usage errors (exit 2).
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// markRunErrors wraps every RunE in the tree so that Execute can tell the command's failures
// from cobra's usage errors, including commands added by the caller after NewRootCommand.
func markRunErrors(c *cobra.Command) {
	if run := c.RunE; run != nil && c.Annotations["latch.marked"] == "" {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := run(cmd, args); err != nil {
				return &runError{err}
			}
			return nil
		}
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations["latch.marked"] = "1"
	}
	for _, sub := range c.Commands() {
		markRunErrors(sub)
	}
}

func execute(ctx context.Context, root *cobra.Command) int {
	markRunErrors(root)
	_, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	return reportError(root.ErrOrStderr(), err)
}

// reportError prints err as az does ("ERROR: …" on stderr, with the server's correlation id
// when there is one) and returns the exit status.
func reportError(w io.Writer, err error) int {
	var run *runError
	if !errors.As(err, &run) {
		// cobra's own argument and flag checks, and our checks of the global flags.
		fmt.Fprintf(w, "ERROR: %s\n", err)
		var ce *cliError
		if errors.As(err, &ce) {
			return ce.exit
		}
		return exitUsage
	}
	inner := run.err
	if errors.Is(inner, context.Canceled) {
		fmt.Fprintln(w, "ERROR: Operation cancelled.")
		return exitFailure
	}
	fmt.Fprintf(w, "ERROR: %s\n", inner)
	if cid := correlationOf(inner); cid != "" {
		fmt.Fprintf(w, "Correlation ID: %s\n", cid)
	}
	return exitCodeOf(inner)
}

func exitCodeOf(err error) int {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.exit
	}
	return exitFailure
}

func correlationOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.CorrelationID
	}
	var oe *oauthError
	if errors.As(err, &oe) {
		return oe.CorrelationID
	}
	return ""
}

// asNotFound turns a 404 from the API into exit status 3, keeping the server's message and
// correlation id, as az does for "show" commands.
func asNotFound(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == 404 {
		return &notFoundAPIError{ae}
	}
	return err
}

type notFoundAPIError struct{ *apiError }

func (e *notFoundAPIError) Unwrap() []error {
	return []error{e.apiError, &cliError{msg: e.apiError.Error(), exit: exitNotFound}}
}

// sprintf formats only when there are arguments, so that messages containing "%" (URLs,
// server text) pass through unchanged.
func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// newUUID returns a random (version 4) UUID string.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// isGUID reports whether s looks like an object id, which decides whether a --group or --id
// is looked up directly or by name.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
