package cli

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func accessToken(t *testing.T, h *harness, args ...string) map[string]any {
	t.Helper()
	res := h.run(append([]string{"account", "get-access-token"}, args...)...)
	if res.code != 0 {
		t.Fatalf("get-access-token: %+v", res)
	}
	return decode(t, res.stdout).(map[string]any)
}

func TestAccessTokenCacheAndRefresh(t *testing.T) {
	h := newHarness(t)
	h.login()
	first := accessToken(t, h)
	if g := h.idp.grantLog(); !reflect.DeepEqual(g, []string{deviceGrant}) {
		t.Fatalf("the ARM token from login was not reused: grants %v", g)
	}
	if first["subscription"] != subID || first["tenant"] != homeTenant || first["tokenType"] != "Bearer" {
		t.Errorf("token fields = %v", first)
	}
	wantExp := h.now.Add(time.Hour).Unix()
	if got := int64(first["expires_on"].(float64)); got != wantExp {
		t.Errorf("expires_on = %d, want %d", got, wantExp)
	}
	if want := time.Unix(wantExp, 0).Local().Format("2006-01-02 15:04:05.000000"); first["expiresOn"] != want {
		t.Errorf("expiresOn = %v, want %v", first["expiresOn"], want)
	}

	h.now = h.now.Add(56 * time.Minute) // inside the five-minute margin: refresh
	second := accessToken(t, h)
	if second["accessToken"] == first["accessToken"] {
		t.Error("a token about to expire was not refreshed")
	}
	h.now = h.now.Add(time.Hour) // expired: refresh again, with the rotated refresh token
	third := accessToken(t, h)
	if third["accessToken"] == second["accessToken"] {
		t.Error("an expired token was not refreshed")
	}
	if g := h.idp.grantLog(); !reflect.DeepEqual(g, []string{deviceGrant, "refresh_token", "refresh_token"}) {
		t.Errorf("grants = %v", g)
	}
	// The fake refuses a refresh token used twice; the third call succeeding means the
	// rotated one was stored. Check it explicitly too.
	if h.idp.lastRefreshRT == "rt-1" {
		t.Errorf("the second refresh replayed the first refresh token")
	}
}

func TestGraphTokenComesFromRefreshToken(t *testing.T) {
	h := newHarness(t)
	h.login()
	arm := accessToken(t, h)
	graph := accessToken(t, h, "--resource-type", "ms-graph")
	if arm["accessToken"] == graph["accessToken"] {
		t.Error("the Graph token is the ARM token")
	}
	byScope := accessToken(t, h, "--scope", scopeFor(graphResource(h.idp.url())))
	if byScope["accessToken"] != graph["accessToken"] {
		t.Error("--scope for Graph did not reuse the cached Graph token")
	}
	if r := h.run("account", "get-access-token", "--resource", "x", "--scope", "y"); r.code != 2 {
		t.Errorf("--resource with --scope: %+v", r)
	}
}

func TestRefreshRefused(t *testing.T) {
	h := newHarness(t)
	h.login()
	h.idp.refreshError = "invalid_grant"
	h.now = h.now.Add(2 * time.Hour)
	res := h.run("account", "get-access-token")
	want := "ERROR: (invalid_grant) AADSTS: invalid_grant\nTo re-authenticate, please run:\nlatch login\nCorrelation ID: "
	if res.code != 1 || !strings.HasPrefix(res.stderr, want) {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

// TestConcurrentRefreshUsesTheTokenOnce runs commands at once with an expired token: the
// lock must let only one of them refresh, or the others would replay a rotated token.
func TestConcurrentRefreshUsesTheTokenOnce(t *testing.T) {
	h := newHarness(t)
	h.login()
	h.now = h.now.Add(2 * time.Hour)
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hh := *h // same state directory and server; own sleep log
			codes[i] = hh.run("account", "get-access-token", "-o", "none").code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Errorf("command %d: exit %d", i, c)
		}
	}
	if g := h.idp.grantLog(); len(g) != 2 {
		t.Errorf("grants = %v, want one device code and one refresh", g)
	}
}

// TestRefusedTokenIsRenewedOnce: the server forgets a token the cache still holds; the
// command gets a new one and succeeds.
func TestRefusedTokenIsRenewedOnce(t *testing.T) {
	h := newHarness(t)
	h.login()
	mustRun(t, h, "ad", "user", "list")
	h.idp.mu.Lock()
	for tok, aud := range h.idp.access {
		if aud == graphResource(h.idp.url()) {
			delete(h.idp.access, tok)
		}
	}
	h.idp.mu.Unlock()
	if out := mustRun(t, h, "ad", "user", "list"); out != "[]\n" {
		t.Errorf("list after renewal = %q", out)
	}
	h.idp.refreshError = "invalid_grant"
	h.idp.mu.Lock()
	h.idp.access = map[string]string{}
	h.idp.mu.Unlock()
	if r := h.run("ad", "user", "list"); r.code != 1 || !strings.Contains(r.stderr, "(InvalidAuthenticationToken)") {
		t.Errorf("when renewal fails the server's refusal is shown: %+v", r)
	}
}
