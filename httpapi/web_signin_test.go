package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/testenv"
)

func TestTOTPReplayThroughPage(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	c, u, secret, p := pendingBrowser(t, srv, "jon")
	code := totpNow(secret, time.Now())
	wrong := page(t, c, http.MethodPost, srv.URL+"/login", url.Values{"csrf": {p.CSRF}, "step": {"otp"}, "otc": {"000000"}})
	if wrong.Status != http.StatusUnauthorized || !strings.Contains(wrong.Error(), "not correct") {
		t.Fatalf("fail/wrong-code: %d %q", wrong.Status, wrong.Error())
	}
	ok := page(t, c, http.MethodPost, srv.URL+"/login", url.Values{"csrf": {wrong.CSRF}, "step": {"otp"}, "otc": {code}})
	if ok.Status != http.StatusSeeOther {
		t.Fatalf("ok/first-use: %d %q", ok.Status, ok.Error())
	}
	// Someone who watched the code type it in another browser, with the password.
	c2 := srv.Browser()
	p2 := passwordSignIn(t, srv, c2, u.UserPrincipalName, webPassword)
	again := page(t, c2, http.MethodPost, srv.URL+"/login", url.Values{"csrf": {p2.CSRF}, "step": {"otp"}, "otc": {code}})
	if again.Status != http.StatusUnauthorized || !strings.Contains(again.Error(), "used already") {
		t.Fatalf("fail/replayed-code: %d %q", again.Status, again.Error())
	}
	// The code step is not reachable without the password step.
	c3 := srv.Browser()
	first := page(t, c3, http.MethodGet, srv.URL+"/login", nil)
	skip := page(t, c3, http.MethodPost, srv.URL+"/login", url.Values{"csrf": {first.CSRF}, "step": {"otp"}, "otc": {code}})
	if skip.Status == http.StatusSeeOther || sessionValue(c3, srv) != "" {
		t.Fatalf("fail/code-without-password: %d", skip.Status)
	}
}

func TestMFARequiredWithoutApp(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := testenv.CreateUser(t, srv, "kim", webPassword)
	srv.Store.UpdateUser(context.Background(), u.TenantID, u.ID, func(cur directory.User) (directory.User, error) {
		cur.MFA = directory.MFAEnforced
		return cur, nil
	})
	p := passwordSignIn(t, srv, srv.Browser(), u.UserPrincipalName, webPassword)
	if p.Status != http.StatusForbidden || !strings.Contains(p.Error(), "second sign-in factor") {
		t.Fatalf("fail/mfa-without-app: %d %q", p.Status, p.Error())
	}
}

func TestLockoutThroughPage(t *testing.T) {
	if testing.Short() {
		t.Skip("100 password hashes")
	}
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := testenv.CreateUser(t, srv, "lee", webPassword)
	unknown := passwordSignIn(t, srv, srv.Browser(), "nobody@contoso.test", "wrong password!!")
	for i := range 100 {
		p := passwordSignIn(t, srv, srv.Browser(), u.UserPrincipalName, "wrong password!!")
		if i == 0 && (p.Status != unknown.Status || p.Error() != unknown.Error()) {
			t.Fatalf("fail/unknown-user-differs: %d %q vs %d %q", p.Status, p.Error(), unknown.Status, unknown.Error())
		}
		if p.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %q", i+1, p.Status, p.Error())
		}
	}
	p := passwordSignIn(t, srv, srv.Browser(), u.UserPrincipalName, webPassword)
	if p.Status != http.StatusTooManyRequests || !strings.Contains(p.Error(), "locked") {
		t.Fatalf("fail/locked-refuses-right-password: %d %q", p.Status, p.Error())
	}
}

func TestTemporaryPassword(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	ctx := context.Background()
	u := testenv.CreateUser(t, srv, "max", webPassword)

	// A refresh token issued before the admin reset the password stops working.
	verifier, challenge := pkce("m")
	code := signInCode(t, srv, challenge, u.UserPrincipalName, webPassword)
	_, m := tokenCall(t, srv, url.Values{"grant_type": {"authorization_code"}, "client_id": {cli}, "code": {code},
		"redirect_uri": {"http://localhost:39999"}, "code_verifier": {verifier}, "scope": {"openid offline_access"}})
	setTemporary(t, srv, u)
	st, m := tokenCall(t, srv, url.Values{"grant_type": {"refresh_token"}, "client_id": {cli}, "refresh_token": {m["refresh_token"].(string)}})
	if st != 400 || m["error"] != "interaction_required" || !strings.Contains(m["error_description"].(string), "Your credentials did not work") {
		t.Fatalf("fail/refresh-with-temporary-password: %d %v", st, m)
	}

	// The device-code page stops at the change step; the code stays pending.
	dc := deviceCode(t, srv)
	err := srv.ApproveDevice(dc.UserCode, u.UserPrincipalName, webPassword)
	if err == nil || !strings.Contains(err.Error(), "Update your password") {
		t.Fatalf("fail/device-with-temporary-password: %v", err)
	}
	if st, m := tokenCall(t, srv, url.Values{"grant_type": {grantDevice}, "client_id": {cli}, "device_code": {dc.DeviceCode}}); m["error"] != "authorization_pending" {
		t.Fatalf("fail/device-poll: %d %v", st, m)
	}

	// The page lets them change it, under the password policy.
	c := srv.Browser()
	p := passwordSignIn(t, srv, c, u.UserPrincipalName, webPassword)
	change := func(cur, next string) testenv.Page {
		return page(t, c, http.MethodPost, srv.URL+"/login", url.Values{"csrf": {p.CSRF}, "step": {"changepassword"},
			"current": {cur}, "new": {next}, "confirm": {next}})
	}
	if r := change(webPassword, "short"); r.Status != http.StatusBadRequest {
		t.Fatalf("fail/too-short: %d %q", r.Status, r.Error())
	}
	if r := change("not the password", "a brand new passphrase 42"); r.Status != http.StatusUnauthorized {
		t.Fatalf("fail/wrong-current: %d %q", r.Status, r.Error())
	}
	if p := page(t, c, http.MethodGet, srv.URL+"/security-info", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("fail/pending-change-reaches-security-info: %d", p.Status)
	}
	if r := change(webPassword, "a brand new passphrase 42"); r.Status != http.StatusSeeOther {
		t.Fatalf("ok/changed: %d %q", r.Status, r.Error())
	}
	if got, _ := srv.Store.GetUser(ctx, u.TenantID, u.ID); got.Password.ForceChangePasswordNextSignIn {
		t.Fatal("the temporary flag is still set")
	}
	if err := srv.ApproveDevice(dc.UserCode, u.UserPrincipalName, "a brand new passphrase 42"); err != nil {
		t.Fatalf("ok/device-after-change: %v", err)
	}
}

func setTemporary(t *testing.T, srv *testenv.Server, u directory.User) {
	t.Helper()
	_, err := srv.Store.UpdateUser(context.Background(), u.TenantID, u.ID, func(cur directory.User) (directory.User, error) {
		cur.Password.ForceChangePasswordNextSignIn = true
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

const grantDevice = "urn:ietf:params:oauth:grant-type:device_code"

type deviceCodeResponse struct {
	UserCode   string `json:"user_code"`
	DeviceCode string `json:"device_code"`
}

func deviceCode(t *testing.T, srv *testenv.Server) deviceCodeResponse {
	t.Helper()
	resp, err := srv.Client.PostForm(srv.Authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {cli}, "scope": {srv.ARMScope() + " offline_access openid"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dc deviceCodeResponse
	if err := json.NewDecoder(resp.Body).Decode(&dc); err != nil {
		t.Fatal(err)
	}
	return dc
}
