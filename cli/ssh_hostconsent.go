package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Remembered hosts, as the article describes them: the first time a person connects to a
// machine they are asked to allow the connection, and Latch remembers up to 15 machines per
// person for 30 days before asking again. The token service keeps the list; it refuses a
// certificate for a machine not on it with interaction_required and the suberror
// host_consent_required. On a terminal with a browser at hand, the CLI opens the server's
// question page (/{tenant}/ssh/hostconsent?vm=…), prints its address, and asks for the
// certificate again every two seconds, for up to two minutes, until the page has recorded the
// answer. On a terminal without a browser it asks y/N itself and asks again for the
// certificate with host_consent=<the VM's resource id>. --allow-host (or
// LATCH_SSH_ALLOW_HOST=true) consents up front, for scripts, which have no terminal to ask on.

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

// hostConsent is how one command answers the question: up front (--allow-host), on the
// server's page in a browser or by asking on a terminal, or not at all.
type hostConsent struct {
	name  string                              // the VM's name, for the question
	allow bool                                // --allow-host
	ask   func(question string) (bool, error) // nil without a terminal
	open  BrowserFunc                         // nil without a browser; used only with a terminal
	page  func(vmID string) string            // the question page's address, "" when unknown
	out   io.Writer                           // where the page's address is printed
	wait  func(ctx context.Context) error     // between two polls; nil waits consentPollEvery
}

// How the CLI waits for the page's answer: the article's prompt is a person's decision, so
// two minutes; every two seconds, so the command goes on soon after the click without
// loading the token service.
const (
	consentPollEvery = 2 * time.Second
	consentPolls     = 60
)

type hostConsentKey struct{}

// allowHostEnv consents up front for every machine, like --allow-host on every command: for
// automation that runs many ssh commands and has vetted the machines it connects to.
const allowHostEnv = "LATCH_SSH_ALLOW_HOST"

// withHostConsent carries the command's answer to the certificate request for VM name.
func (a *app) withHostConsent(ctx context.Context, name string, allow bool) context.Context {
	if v, err := strconv.ParseBool(a.getenv(allowHostEnv)); err == nil && v {
		allow = true
	}
	return context.WithValue(ctx, hostConsentKey{}, &hostConsent{name: name, allow: allow, ask: a.terminalQuestion(),
		open: a.browser(ctx), page: a.hostConsentPage, out: a.stderr})
}

// hostConsentPage is the question page's address for vmID on the signed-in server, or ""
// when the profile cannot be read or its token endpoint is not the server's usual one.
func (a *app) hostConsentPage(vmID string) string {
	dir, err := a.configDir()
	if err != nil {
		return ""
	}
	prof, err := loadProfile(dir)
	if err != nil {
		return ""
	}
	return hostConsentPageURL(prof.TokenEndpoint, vmID)
}

// hostConsentPageURL derives the page's address from the tenant's token endpoint,
// https://host/{tenant}/oauth2/v2.0/token: the page lives under the same tenant, so the
// person answers for the account the CLI signed in with. Anything else gives "".
func hostConsentPageURL(tokenEndpoint, vmID string) string {
	u, err := url.Parse(tokenEndpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return ""
	}
	tenantPath, ok := strings.CutSuffix(u.Path, "/oauth2/v2.0/token")
	if !ok || tenantPath == "" {
		return ""
	}
	u.Path = tenantPath + "/ssh/hostconsent"
	u.RawPath = ""
	u.RawQuery = url.Values{"vm": {vmID}}.Encode()
	return u.String()
}

// requestWithHostConsent runs request with form (a certificate request for vmID). With
// --allow-host it sends host_consent at once; otherwise, when the service asks for consent, it
// fails naming --allow-host when there is no terminal (nobody to ask), opens the server's
// question page and polls until the page has recorded the answer when there is a browser,
// and else asks y/N on the terminal and runs request again with host_consent.
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
	if tr, asked, err := hc.inBrowser(ctx, form, vmID, name, request); asked {
		return tr, err
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

// inBrowser opens the question page and asks for the certificate again (without
// host_consent: the page records the answer) until it is issued, another refusal comes, or
// consentPolls polls have gone by. asked is false when there is no browser or page, or the
// browser did not start: the caller then asks on the terminal.
func (hc *hostConsent) inBrowser(ctx context.Context, form url.Values, vmID, name string, request func(url.Values) (*tokenResponse, error)) (tr *tokenResponse, asked bool, err error) {
	if hc.open == nil || hc.page == nil {
		return nil, false, nil
	}
	page := hc.page(vmID)
	if page == "" || hc.open(ctx, page) != nil {
		return nil, false, nil
	}
	if hc.out != nil {
		fmt.Fprintf(hc.out, "To allow the connection to '%s', answer in the web browser, at:\n%s\nWaiting up to 2 minutes for your answer (Ctrl+C stops).\n", name, page)
	}
	form.Del("host_consent")
	for range consentPolls {
		if err := hc.pause(ctx); err != nil {
			return nil, true, err
		}
		tr, err := request(form)
		var refusal *hostConsentError
		if !errors.As(err, &refusal) {
			return tr, true, err
		}
	}
	return nil, true, failf("No answer came from the web browser within 2 minutes: the connection to '%s' was not allowed. Run the command again to be asked again, or with --allow-host.", name)
}

// pause waits between two polls, or until ctx ends.
func (hc *hostConsent) pause(ctx context.Context) error {
	if hc.wait != nil {
		return hc.wait(ctx)
	}
	return sleepCtx(ctx, consentPollEvery)
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
