package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Remembered hosts, as the article describes them: the first time a person connects to a
// machine they are asked to allow the connection, and Latch remembers up to 15 machines per
// person for 30 days before asking again. The token service keeps the list; it refuses a
// certificate for a machine not on it with interaction_required and the suberror
// host_consent_required, and the CLI asks (on a terminal) and asks again for the
// certificate with host_consent=<the VM's resource id>. --allow-host (or LATCH_SSH_ALLOW_HOST=true)
// consents up front, for scripts, which have no terminal to ask on.

// suberrorHostConsent is the token service's suberror for a machine not yet allowed.
const suberrorHostConsent = "host_consent_required"

// hostConsentError is the token service's refusal of a certificate for a machine the person
// has not allowed yet.
type hostConsentError struct {
	oauth    *oauthError
	question string // the service's question, "Allow the connection to vm1? …"
}

func (e *hostConsentError) Error() string { return e.question }
func (e *hostConsentError) Unwrap() error { return e.oauth }

// hostConsentRefusal returns oe as a *hostConsentError when the answer body carries the
// host_consent_required suberror, else nil.
func hostConsentRefusal(oe *oauthError, body []byte) error {
	var shape struct {
		Suberror string `json:"suberror"`
	}
	if oe.Code != "interaction_required" || json.Unmarshal(body, &shape) != nil || shape.Suberror != suberrorHostConsent {
		return nil
	}
	return &hostConsentError{oauth: oe, question: questionOf(oe.Description)}
}

// questionOf is the service's description without an "AADSTSnnnnn: " prefix and the trace
// lines after it: the question alone, as the person should read it.
func questionOf(desc string) string {
	if rest, ok := strings.CutPrefix(desc, "AADSTS"); ok {
		if _, q, found := strings.Cut(rest, ": "); found {
			desc = q
		}
	}
	q, _, _ := strings.Cut(desc, "\n")
	return strings.TrimSpace(strings.TrimSuffix(q, "\r"))
}

// hostConsent is how one command answers the question: up front (--allow-host), by asking on
// a terminal, or not at all.
type hostConsent struct {
	name  string                              // the VM's name, for the question
	allow bool                                // --allow-host
	ask   func(question string) (bool, error) // nil without a terminal
}

type hostConsentKey struct{}

// allowHostEnv consents up front for every machine, like --allow-host on every command: for
// automation that runs many ssh commands and has vetted the machines it connects to.
const allowHostEnv = "LATCH_SSH_ALLOW_HOST"

// withHostConsent carries the command's answer to the certificate request for VM name.
func (a *app) withHostConsent(ctx context.Context, name string, allow bool) context.Context {
	if v, err := strconv.ParseBool(a.getenv(allowHostEnv)); err == nil && v {
		allow = true
	}
	return context.WithValue(ctx, hostConsentKey{}, &hostConsent{name: name, allow: allow, ask: a.terminalQuestion()})
}

// requestWithHostConsent runs request with form (a certificate request for vmID). With
// --allow-host it sends host_consent at once; otherwise, when the service asks for consent, it
// asks the person and runs request again with host_consent, or fails naming --allow-host
// when there is no terminal to ask on.
func requestWithHostConsent(ctx context.Context, form url.Values, vmID string, request func(url.Values) (*tokenResponse, error)) (*tokenResponse, error) {
	hc, _ := ctx.Value(hostConsentKey{}).(*hostConsent)
	if hc != nil && hc.allow {
		form.Set("host_consent", vmID)
		return request(form)
	}
	tr, err := request(form)
	var refusal *hostConsentError
	if !errors.As(err, &refusal) {
		return tr, err
	}
	name := vmID[strings.LastIndex(vmID, "/")+1:]
	if hc != nil && hc.name != "" {
		name = hc.name
	}
	if hc == nil || hc.ask == nil {
		return nil, failf("%s\nThere is no terminal to ask on: run the command again with --allow-host to allow the connection to '%s'.", refusal.question, name)
	}
	ok, err := hc.ask("Allow the connection to '" + name + "' (" + vmID + ")? [y/N] ")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, failf("The connection to '%s' was not allowed.", name)
	}
	form.Set("host_consent", vmID)
	return request(form)
}

// terminalQuestion returns a function asking a yes/no question on the terminal (the question
// on stderr, so stdout stays the command's result), or nil when standard input is not one.
func (a *app) terminalQuestion() func(string) (bool, error) {
	f, ok := a.stdin.(*os.File)
	if !ok || !a.processEnv || !isTerminal(f) {
		return nil
	}
	return func(question string) (bool, error) {
		return askYesNo(f, a.stderr, question)
	}
}

// askYesNo writes question to w and reads one answer from r: y or yes is consent; anything
// else, or no answer, is not.
func askYesNo(r io.Reader, w io.Writer, question string) (bool, error) {
	io.WriteString(w, question)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}
