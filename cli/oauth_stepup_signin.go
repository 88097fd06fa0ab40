package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
)

// stepUpTerminalKey marks a context whose command may sign in again as if on a terminal.
type stepUpTerminalKey struct{}

// WithTerminal marks ctx's commands as run by a person at a terminal, for callers that run
// the command line in-process with their own streams (tests, a program embedding it): a
// Conditional Access refusal with a claims challenge then signs the person in again by itself,
// as on a real terminal. CI and --only-show-errors still turn that off.
func WithTerminal(ctx context.Context) context.Context {
	return context.WithValue(ctx, stepUpTerminalKey{}, true)
}

// canStepUp reports whether the person is there to sign in again: standard input and error
// are terminals, CI is unset and --only-show-errors was not given. A script must never wait
// for a browser nobody watches.
func (a *app) canStepUp(ctx context.Context) bool {
	if a.onlyErrors || a.getenv("CI") != "" {
		return false
	}
	if on, ok := ctx.Value(stepUpTerminalKey{}).(bool); ok {
		return on
	}
	in, ok1 := a.stdin.(*os.File)
	errf, ok2 := a.stderr.(*os.File)
	return ok1 && ok2 && a.processEnv && isTerminal(in) && isTerminal(errf)
}

// withStepUp runs request; when the token service refuses it with a claims challenge and the
// person is at a terminal, it signs them in again to meet the challenge and runs request once
// more. Any other error, and every error without a terminal, is returned as it came.
func (s *session) withStepUp(ctx context.Context, request func() error) error {
	err := request()
	var su *stepUpError
	if !errors.As(err, &su) || su.claims == "" || s.prof.User.Type == "servicePrincipal" || !s.a.canStepUp(ctx) {
		return err
	}
	io.WriteString(s.a.stderr, su.message+"\nSigning you in again to meet it …\n")
	if serr := s.stepUp(ctx, su.claims); serr != nil {
		return &stepUpFailed{refusal: su, err: serr}
	}
	return request()
}

// stepUp signs the profile's account in again with the claims challenge, in the browser when
// one can be opened, else with a device code, and stores the new tokens as "latch login"
// does. It refuses a sign-in as another account or tenant: the profile would name the wrong
// person.
func (s *session) stepUp(ctx context.Context, claims string) error {
	if s.c == nil {
		c, err := s.a.newClient(s.prof.CAFile)
		if err != nil {
			return err
		}
		s.c = c
	}
	ep, err := s.c.discover(ctx, s.prof.Server, s.prof.Tenant)
	if err != nil {
		return err
	}
	res, err := s.interactiveSignIn(ctx, ep, signInHints{claims: claims, loginHint: s.prof.User.Name})
	if err != nil {
		return err
	}
	if !strings.EqualFold(res.user.Name, s.prof.User.Name) || res.tenantID != s.prof.Tenant {
		return failf("you signed in as '%s' (tenant %s), not as '%s' (tenant %s); nothing was changed.",
			res.user.Name, res.tenantID, s.prof.User.Name, s.prof.Tenant)
	}
	return s.a.saveLogin(s.dir, s.prof, res)
}

// interactiveSignIn is "latch login" for a person, with hints: the browser's authorization
// code flow when a browser can be opened, else the device code flow.
func (s *session) interactiveSignIn(ctx context.Context, ep *endpoints, hints signInHints) (*loginResult, error) {
	scope := scopeFor(armResource(s.prof.Server)) + " " + oidcScopes
	if s.a.browser(ctx) == nil {
		tr, err := s.a.deviceLogin(ctx, s.c, ep, scope, hints)
		if err != nil {
			return nil, err
		}
		return s.a.userResult(ep, tr, "")
	}
	tr, nonce, err := s.a.browserLogin(ctx, s.c, ep, scope, hints)
	if err != nil {
		return nil, err
	}
	return s.a.userResult(ep, tr, nonce)
}

// stepUpFailed is a refusal the person could not meet by signing in again: the refusal's
// message first, then why the sign-in failed. Exit status 1.
type stepUpFailed struct {
	refusal *stepUpError
	err     error
}

func (e *stepUpFailed) Error() string {
	return e.refusal.message + "\nSigning in again did not meet it: " + e.err.Error()
}

func (e *stepUpFailed) Unwrap() error { return e.refusal }
