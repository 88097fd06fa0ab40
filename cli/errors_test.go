package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestExitCodesAndErrorLines(t *testing.T) {
	h := newHarness(t)
	h.login()
	cases := []struct {
		name string
		args []string
		code int
		want string // the whole of stderr, or its start when it ends with "…"
	}{
		{"fail/unknown-command", []string{"ad", "usr", "list"}, 2, "ERROR: unknown command \"usr\" for \"latch ad\"…"},
		{"fail/unknown-flag", []string{"ad", "user", "list", "--upm", "x"}, 2, "ERROR: unknown flag: --upm\n"},
		{"fail/missing-required-flag", []string{"ad", "user", "show"}, 2, "ERROR: required flag(s) \"id\" not set\n"},
		{"fail/positional-argument", []string{"account", "show", "extra"}, 2, "ERROR: unknown command \"extra\" for \"latch account show\"\n"},
		{"fail/bool-value", []string{"ad", "user", "update", "--id", "x", "--account-enabled", "maybe"}, 2, "ERROR: unknown command \"maybe\"…"},
		{"fail/update-nothing", []string{"ad", "user", "update", "--id", "x"}, 2, "ERROR: usage error: give at least one of…"},
		{"fail/show-not-found", []string{"ad", "user", "show", "--id", "nobody@contoso.test"}, 3,
			"ERROR: (Request_ResourceNotFound) Resource 'nobody@contoso.test' does not exist or one of its queried reference-property objects are not present.\nCorrelation ID: "},
		{"fail/group-name-not-found", []string{"ad", "group", "show", "--group", "nope"}, 3, "ERROR: Group 'nope' is not found in the directory.\n"},
		{"fail/sp-not-found", []string{"ad", "sp", "show", "--id", "http://nope"}, 3, "ERROR: Service principal 'http://nope' doesn't exist\n"},
		{"fail/delete-not-found", []string{"ad", "user", "delete", "--id", "nobody"}, 1, "ERROR: (Request_ResourceNotFound)…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.run(tc.args...)
			ok := res.stderr == tc.want
			if prefix, cut := strings.CutSuffix(tc.want, "…"); cut {
				ok = strings.HasPrefix(res.stderr, prefix)
			}
			if strings.HasSuffix(tc.want, "Correlation ID: ") {
				ok = strings.HasPrefix(res.stderr, tc.want) && len(res.stderr) > len(tc.want)+30
			}
			if res.code != tc.code || !ok {
				t.Errorf("exit %d, stderr %q; want exit %d, %q", res.code, res.stderr, tc.code, tc.want)
			}
		})
	}
}

// TestCorrelationIDIsTheOneSent checks that the id printed on error is the one the server
// logged, so a person can quote it.
func TestCorrelationIDIsTheOneSent(t *testing.T) {
	var seen string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("x-ms-correlation-request-id")
		w.Header().Set("x-ms-correlation-request-id", seen)
		writeJSONTest(w, 403, map[string]any{"error": map[string]any{"code": "AuthorizationFailed", "message": "The client does not have authorization."}})
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	a := newApp(nil, &out, &errb, func(string) string { return "" })
	c, _ := a.newClient("")
	err := c.call(context.Background(), "GET", srv.URL+"/subscriptions", "tok", nil, nil)
	code := reportError(&errb, &runError{err})
	want := fmt.Sprintf("ERROR: (AuthorizationFailed) The client does not have authorization.\nCorrelation ID: %s\n", seen)
	if code != 1 || errb.String() != want || seen != a.correlationID {
		t.Errorf("exit %d, stderr %q, sent %q; want %q", code, errb.String(), seen, want)
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream exploded", http.StatusBadGateway)
	}))
	defer srv.Close()
	a := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
	c, _ := a.newClient("")
	err := c.call(context.Background(), "GET", srv.URL, "tok", nil, nil)
	if err == nil || err.Error() != "(BadGateway) The server answered 502 Bad Gateway. upstream exploded" {
		t.Errorf("err = %v", err)
	}
}

func TestDebugNeverPrintsTokens(t *testing.T) {
	h := newHarness(t)
	h.login()
	res := h.run("account", "get-access-token", "--resource-type", "ms-graph", "--debug", "-o", "none")
	if res.code != 0 {
		t.Fatalf("%+v", res)
	}
	if !strings.Contains(res.stderr, "DEBUG: Request: POST "+h.idp.url()) || !strings.Contains(res.stderr, "x-ms-correlation-request-id: ") {
		t.Errorf("debug log lacks requests or correlation ids:\n%s", res.stderr)
	}
	for _, secret := range []string{"rt-", "eyJ"} {
		if strings.Contains(res.stderr, secret) {
			t.Errorf("debug log shows a token (%s):\n%s", secret, res.stderr)
		}
	}
}

func TestCommandsAddedLaterKeepExitStatuses(t *testing.T) {
	root := newRoot(newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" }))
	root.AddCommand(&cobra.Command{Use: "serve", RunE: func(*cobra.Command, []string) error { return errors.New("port in use") }})
	var errb bytes.Buffer
	root.SetErr(&errb)
	root.SetArgs([]string{"serve"})
	if code := execute(context.Background(), root); code != 1 || errb.String() != "ERROR: port in use\n" {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

func TestNotLoggedIn(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{{"ad", "user", "list"}, {"account", "get-access-token"}, {"account", "show"}} {
		res := h.run(args...)
		if res.code != 1 || res.stderr != "ERROR: Please run 'latch login' to setup account.\n" {
			t.Errorf("%v: exit %d, stderr %q", args, res.code, res.stderr)
		}
	}
	if res := h.run("account", "list"); res.code != 0 || res.stdout != "[]\n" {
		t.Errorf("account list when logged out: %+v", res)
	}
}

func TestAddedCommandsIgnoreOutputSettings(t *testing.T) {
	a := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string {
		return map[string]string{"LATCH_OUTPUT": "xml", "LATCH_CONFIG_DIR": t.TempDir()}[k]
	})
	root := newRoot(a)
	ran := false
	root.AddCommand(&cobra.Command{Use: "serve", RunE: func(*cobra.Command, []string) error { ran = true; return nil }})
	root.SetArgs([]string{"serve"})
	if code := execute(context.Background(), root); code != 0 || !ran {
		t.Errorf("serve with a bad LATCH_OUTPUT: exit %d, ran %v", code, ran)
	}
}

func TestOnlyShowErrors(t *testing.T) {
	h := newHarness(t)
	h.login()
	mustRun(t, h, "ad", "sp", "create", "--id", "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0")
	for flag, quiet := range map[string]bool{"--only-show-errors": true, "--verbose": false} {
		res := h.run("ad", "sp", "credential", "reset", "--id", "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0", flag)
		if res.code != 0 || (res.stderr == "") != quiet {
			t.Errorf("%s: exit %d, stderr %q", flag, res.code, res.stderr)
		}
	}
}
