package cli

import (
	"context"
	"net/http"
	"regexp"
	"strings"
)

// onboardingCommand asks the server for a one-time onboarding token for the VM and returns
// the command that connects a machine with it. The token is shown here only; it expires in an
// hour and works once.
func (c *arm) onboardingCommand(ctx context.Context, a *app, rg, name string) (string, error) {
	out, err := c.write(ctx, http.MethodPost, c.vmPath(rg, name)+"/generateOnboardingToken", apiCompute, nil)
	if err != nil {
		return "", err
	}
	tok, _ := out["token"].(string)
	if tok == "" {
		return "", failf("the server answered without an onboarding token")
	}
	words := []string{"latch", "agent", "connect", "--server", shellQuote(c.server), "--token", shellQuote(tok)}
	if s, err := a.session(); err == nil && s.prof.CAFile != "" {
		words = append(words, "--ca-file", shellQuote(s.prof.CAFile))
	}
	return strings.Join(words, " "), nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellQuote quotes s for a POSIX shell when it holds anything but plain characters.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
