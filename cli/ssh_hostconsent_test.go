package cli

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

const consentVM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"

const consentBody = `{"error":"interaction_required","error_description":"Allow the connection to vm1? Latch asks the first time you connect to a machine and remembers up to 15 machines for 30 days.","suberror":"host_consent_required"}`

// fakeConsentService answers like the token service: a certificate only with host_consent
// naming the VM, unless the VM is remembered.
type fakeConsentService struct {
	remembered bool
	forms      []url.Values
}

func (f *fakeConsentService) request(form url.Values) (*tokenResponse, error) {
	f.forms = append(f.forms, mapsClone(form))
	if f.remembered || form.Get("host_consent") == consentVM {
		f.remembered = true
		return &tokenResponse{AccessToken: "cert", TokenType: "ssh-cert"}, nil
	}
	oe := &oauthError{Code: "interaction_required", Description: "Allow the connection to vm1? Latch asks the first time you connect to a machine and remembers up to 15 machines for 30 days."}
	return nil, hostConsentRefusal(oe, []byte(consentBody))
}

func mapsClone(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func TestRequestWithHostConsent(t *testing.T) {
	yes := func(answer bool) func(string) (bool, error) {
		return func(q string) (bool, error) {
			if q != "Allow the connection to 'vm1' ("+consentVM+")? [y/N] " {
				t.Errorf("asked %q", q)
			}
			return answer, nil
		}
	}
	for _, tc := range []struct {
		name       string
		hc         *hostConsent
		remembered bool
		want       string // substring of the error; "" for success
		requests   int
	}{
		{"fail/no-terminal-names-allow-host", &hostConsent{name: "vm1"}, false, "run the command again with --allow-host to allow the connection to 'vm1'", 1},
		{"fail/no-command-context", nil, false, "--allow-host", 1},
		{"fail/person-says-no", &hostConsent{name: "vm1", ask: yes(false)}, false, "The connection to 'vm1' was not allowed.", 1},
		{"ok/person-says-yes", &hostConsent{name: "vm1", ask: yes(true)}, false, "", 2},
		{"ok/allow-host-up-front", &hostConsent{name: "vm1", allow: true}, false, "", 1},
		{"ok/remembered-asks-nothing", &hostConsent{name: "vm1", ask: yes(false)}, true, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeConsentService{remembered: tc.remembered}
			ctx := context.Background()
			if tc.hc != nil {
				ctx = context.WithValue(ctx, hostConsentKey{}, tc.hc)
			}
			tr, err := requestWithHostConsent(ctx, url.Values{"vm_id": {consentVM}}, consentVM, svc.request)
			if tc.want == "" && (err != nil || tr == nil) {
				t.Fatalf("err %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if len(svc.forms) != tc.requests {
				t.Fatalf("%d requests, want %d", len(svc.forms), tc.requests)
			}
			if tc.want == "" && !tc.remembered && svc.forms[len(svc.forms)-1].Get("host_consent") != consentVM {
				t.Fatalf("consent not sent: %v", svc.forms)
			}
		})
	}
}

func TestHostConsentRefusal(t *testing.T) {
	oe := &oauthError{Code: "interaction_required", Description: "q"}
	for _, tc := range []struct {
		name string
		code string
		body string
		want bool
	}{
		{"fail/other-suberror", "interaction_required", `{"suberror":"basic_action"}`, false},
		{"fail/not-json", "interaction_required", `<html>`, false},
		{"fail/other-code", "invalid_grant", consentBody, false},
		{"ok/host-consent", "interaction_required", consentBody, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oe.Code = tc.code
			if got := hostConsentRefusal(oe, []byte(tc.body)) != nil; got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestAskYesNo(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{{"", false}, {"n\n", false}, {"whatever\n", false}, {"y\n", true}, {" YES \n", true}} {
		var out bytes.Buffer
		if got, _ := askYesNo(strings.NewReader(tc.in), &out, "Allow? [y/N] "); got != tc.want || out.String() != "Allow? [y/N] " {
			t.Errorf("%q: %v, wrote %q", tc.in, got, out.String())
		}
	}
}

func TestWithHostConsentEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env   string
		flag  bool
		allow bool
	}{{"", false, false}, {"no", false, false}, {"maybe", false, false}, {"", true, true}, {"true", false, true}, {"1", false, true}} {
		a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string {
			if k == allowHostEnv {
				return tc.env
			}
			return ""
		})
		hc := a.withHostConsent(context.Background(), "vm1", tc.flag).Value(hostConsentKey{}).(*hostConsent)
		if hc.allow != tc.allow || hc.ask != nil {
			t.Errorf("env %q flag %v: allow %v, ask %v", tc.env, tc.flag, hc.allow, hc.ask != nil)
		}
	}
}

func TestQuestionOf(t *testing.T) {
	for in, want := range map[string]string{
		"Allow the connection to vm1? Latch asks.":                                                  "Allow the connection to vm1? Latch asks.",
		"AADSTS50076: Allow the connection to vm1? Latch asks.\r\nTrace ID: x\r\nCorrelation ID: y": "Allow the connection to vm1? Latch asks.",
		"AADSTS": "AADSTS",
	} {
		if got := questionOf(in); got != want {
			t.Errorf("questionOf(%q) = %q, want %q", in, got, want)
		}
	}
}

const consentPage = "https://latch.test/t1/ssh/hostconsent?vm=%2Fsubscriptions%2Fs%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.Compute%2FvirtualMachines%2Fvm1"

// On a terminal with a browser the CLI opens the server's page and polls until the page has
// recorded the answer; without a browser (or when it does not start) it asks y/N.
func TestHostConsentInBrowser(t *testing.T) {
	for _, tc := range []struct {
		name      string
		browser   bool
		openFails bool
		clickAt   int    // the poll after which the page records consent; 0 never
		want      string // substring of the error; "" for success
		requests  int
		asked     bool
	}{
		{"fail/page-never-answered", true, false, 0, "No answer came from the web browser within 2 minutes", 1 + consentPolls, false},
		{"ok/no-browser-asks-on-terminal", false, false, 0, "", 2, true},
		{"ok/browser-fails-to-open-asks-on-terminal", true, true, 0, "", 2, true},
		{"ok/opens-page-and-waits-for-the-answer", true, false, 3, "", 1 + 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeConsentService{}
			var opened []string
			var out bytes.Buffer
			polls, asked := 0, false
			hc := &hostConsent{name: "vm1", out: &out,
				ask:  func(string) (bool, error) { asked = true; return true, nil },
				page: func(vmID string) string { return hostConsentPageURL("https://latch.test/t1/oauth2/v2.0/token", vmID) },
				wait: func(context.Context) error {
					polls++
					svc.remembered = polls == tc.clickAt
					return nil
				}}
			if tc.browser {
				hc.open = func(_ context.Context, u string) error {
					opened = append(opened, u)
					if tc.openFails {
						return errors.New("no display")
					}
					return nil
				}
			}
			ctx := context.WithValue(context.Background(), hostConsentKey{}, hc)
			tr, err := requestWithHostConsent(ctx, url.Values{"vm_id": {consentVM}}, consentVM, svc.request)
			if tc.want == "" && (err != nil || tr == nil) {
				t.Fatalf("err %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if len(svc.forms) != tc.requests || asked != tc.asked {
				t.Fatalf("%d requests (want %d), asked %v (want %v)", len(svc.forms), tc.requests, asked, tc.asked)
			}
			if tc.browser && (len(opened) != 1 || opened[0] != consentPage) {
				t.Fatalf("opened %q, want %q", opened, consentPage)
			}
			if tc.browser && !tc.openFails && !strings.Contains(out.String(), consentPage) {
				t.Fatalf("the page's address was not printed: %q", out.String())
			}
			if !tc.asked && svc.forms[len(svc.forms)-1].Has("host_consent") {
				t.Fatal("a poll sent host_consent: the page, not the CLI, records the answer")
			}
		})
	}
}

// Polling stops when the command is cancelled.
func TestHostConsentInBrowserCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	svc := &fakeConsentService{}
	hc := &hostConsent{name: "vm1", ask: func(string) (bool, error) { return true, nil },
		open: func(context.Context, string) error { cancel(); return nil },
		page: func(string) string { return consentPage }}
	_, err := requestWithHostConsent(context.WithValue(ctx, hostConsentKey{}, hc), url.Values{}, consentVM, svc.request)
	if !errors.Is(err, context.Canceled) || len(svc.forms) != 1 {
		t.Fatalf("err %v after %d requests", err, len(svc.forms))
	}
}

func TestHostConsentPageURL(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint, want string
	}{
		{"fail/not-a-token-endpoint", "https://latch.test/t1/oauth2/v2.0/authorize", ""},
		{"fail/no-tenant", "https://latch.test/oauth2/v2.0/token", ""},
		{"fail/no-host", "/t1/oauth2/v2.0/token", ""},
		{"fail/other-scheme", "file://latch.test/t1/oauth2/v2.0/token", ""},
		{"fail/query", "https://latch.test/t1/oauth2/v2.0/token?x=1", ""},
		{"ok/tenant", "https://latch.test/t1/oauth2/v2.0/token", consentPage},
		{"ok/under-a-path", "https://latch.test:8443/id/t1/oauth2/v2.0/token", "https://latch.test:8443/id/t1/ssh/hostconsent?vm=" + url.QueryEscape(consentVM)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hostConsentPageURL(tc.endpoint, consentVM); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The command's browser opener (a test's hook here) reaches the question.
func TestWithHostConsentBrowser(t *testing.T) {
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
	ctx := WithBrowser(context.Background(), func(context.Context, string) error { return nil })
	if hc := a.withHostConsent(ctx, "vm1", false).Value(hostConsentKey{}).(*hostConsent); hc.open == nil || hc.page == nil {
		t.Fatal("the browser hook was not taken")
	}
}
