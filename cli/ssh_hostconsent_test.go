package cli

import (
	"bytes"
	"context"
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
