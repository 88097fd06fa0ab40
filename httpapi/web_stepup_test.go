package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/testenv"
)

// storePolicy adds an enabled policy for every user and app with the given grant controls
// straight to the store, before any sign-in compiles the tenant's policies.
func storePolicy(t *testing.T, srv *testenv.Server, grant string) conditional.Policy {
	t.Helper()
	p, err := conditional.ParsePolicy([]byte(`{"displayName":"Step up","state":"enabled",
	 "conditions":{"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]},"clientAppTypes":["all"]},
	 "grantControls":` + grant + `}`))
	if err != nil {
		t.Fatal(err)
	}
	p.ID, p.Created = uuid.NewString(), time.Now()
	if err := srv.Store.CreateConditionalAccessPolicy(context.Background(), srv.TenantID, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// stepUpPost posts one step of the authorization request v with the CSRF token of prev.
// passwordOnAuthorize opens the authorization page for v in a fresh browser and signs upn in
// with the test password, returning the browser and the page that answers.
func passwordOnAuthorize(t *testing.T, srv *testenv.Server, v url.Values, upn string) (*http.Client, testenv.Page) {
	t.Helper()
	c := srv.Browser()
	first, err := testenv.Get(c, srv.Authority()+"/oauth2/v2.0/authorize?"+v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return c, stepUpPost(t, srv, c, first, v, url.Values{"step": {"password"}, "username": {upn}, "credential": {webPassword}})
}

func stepUpPost(t *testing.T, srv *testenv.Server, c *http.Client, prev testenv.Page, v url.Values, step url.Values) testenv.Page {
	t.Helper()
	form := url.Values{}
	for k, vs := range v {
		form[k] = vs
	}
	for k, vs := range step {
		form[k] = vs
	}
	form.Set("csrf", prev.CSRF)
	p, err := testenv.Post(c, srv.Authority()+"/oauth2/v2.0/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuthorizeStepUp(t *testing.T) {
	t.Run("fail/nothing-registered-is-refused", func(t *testing.T) {
		srv := testenv.StartServer(t, testenv.ServerOptions{})
		u := newUser(t, srv, "nell", webPassword)
		storePolicy(t, srv, `{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":"`+conditional.PhishingResistID+`"}}`)
		_, challenge := pkce("n")
		v := authParams(challenge)
		_, p := passwordOnAuthorize(t, srv, v, u.UserPrincipalName)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Error(), conditional.MessageMethodNotAllowed) ||
			!strings.Contains(p.Error(), "not registered") || p.Location != "" {
			t.Fatalf("refusal page %d %q %s", p.Status, p.Error(), p.Location)
		}
	})
	t.Run("fail/phishing-resistant-offers-only-the-passkey", func(t *testing.T) {
		srv := testenv.StartServer(t, testenv.ServerOptions{})
		u := newUser(t, srv, "pia", webPassword)
		if err := srv.Store.CreatePasskey(context.Background(), authn.Passkey{ID: uuid.NewString(), TenantID: u.TenantID,
			UserID: u.ID, DisplayName: "key", CredentialID: []byte(uuid.NewString()), PublicKey: []byte{1},
			AttestationType: "none", Method: authn.MethodFIDO2, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		storePolicy(t, srv, `{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":"`+conditional.PhishingResistID+`"}}`)
		_, challenge := pkce("p")
		v := authParams(challenge)
		_, p := passwordOnAuthorize(t, srv, v, u.UserPrincipalName)
		if p.Status != http.StatusOK || !strings.Contains(p.Error(), conditional.MessageMethodNotAllowed) ||
			strings.Contains(p.Body, `id="username"`) || !strings.Contains(p.Body, `id="passkey-signin"`) {
			t.Fatalf("step-up page %d %q:\n%s", p.Status, p.Error(), p.Body)
		}
		if p.Location != "" {
			t.Fatalf("a code was issued: %s", p.Location)
		}
	})
	t.Run("ok/mfa-asks-for-the-code-then-issues", func(t *testing.T) {
		srv := testenv.StartServer(t, testenv.ServerOptions{})
		u := newUser(t, srv, "otto", webPassword)
		secret := withAuthenticatorApp(t, srv, u)
		storePolicy(t, srv, `{"operator":"OR","builtInControls":["mfa"]}`)
		_, challenge := pkce("o")
		v := authParams(challenge)
		c, p := passwordOnAuthorize(t, srv, v, u.UserPrincipalName)
		if p.Status != http.StatusOK || !strings.Contains(p.Error(), conditional.MessageMethodNotAllowed) || !strings.Contains(p.Body, `id="otc"`) {
			t.Fatalf("want the code step with the message, got %d %q", p.Status, p.Error())
		}
		p = stepUpPost(t, srv, c, p, v, url.Values{"step": {"otp"}, "otc": {totpNow(secret, time.Now())}})
		loc, _ := url.Parse(p.Location)
		if p.Status != http.StatusSeeOther || loc.Query().Get("code") == "" {
			t.Fatalf("after the code: %d %q %s", p.Status, p.Error(), p.Location)
		}
	})
}

// withAuthenticatorApp gives u a confirmed authenticator app, leaving per-user MFA off, so
// only Conditional Access can ask for the code.
func withAuthenticatorApp(t *testing.T, srv *testenv.Server, u directory.User) []byte {
	t.Helper()
	secret := []byte("12345678901234567890")
	if err := srv.Store.CreateTOTP(context.Background(), authn.TOTPMethod{ID: uuid.NewString(), TenantID: u.TenantID,
		UserID: u.ID, DisplayName: "app", Secret: secret, Confirmed: true, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// devicePost posts one step of /devicelogin with the CSRF token of prev.
func devicePost(t *testing.T, srv *testenv.Server, c *http.Client, prev testenv.Page, form url.Values) testenv.Page {
	t.Helper()
	form.Set("csrf", prev.CSRF)
	p, err := testenv.Post(c, srv.URL+"/devicelogin", form)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A device-code approval signed in with a password is asked for the code by a policy
// requiring MFA; with it, the device gets its tokens.
func TestDeviceLoginStepUp(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := newUser(t, srv, "devi", webPassword)
	secret := withAuthenticatorApp(t, srv, u)
	storePolicy(t, srv, `{"operator":"OR","builtInControls":["mfa"]}`)
	dc := deviceCode(t, srv)
	c := srv.Browser()
	p, err := testenv.Get(c, srv.URL+"/devicelogin")
	if err != nil {
		t.Fatal(err)
	}
	p = devicePost(t, srv, c, p, url.Values{"otc": {dc.UserCode}, "step": {"code"}})
	p = devicePost(t, srv, c, p, url.Values{"user_code": {dc.UserCode}, "step": {"password"}, "username": {u.UserPrincipalName}, "credential": {webPassword}})
	if p.Status != http.StatusOK || !strings.Contains(p.Error(), conditional.MessageMethodNotAllowed) || !strings.Contains(p.Body, `id="otc"`) {
		t.Fatalf("want the code step with the message, got %d %q", p.Status, p.Error())
	}
	p = devicePost(t, srv, c, p, url.Values{"user_code": {dc.UserCode}, "step": {"otp"}, "otc": {totpNow(secret, time.Now())}})
	if !strings.Contains(p.Body, `value="confirm"`) {
		t.Fatalf("want the confirmation after the code, got %d %q", p.Status, p.Error())
	}
	p = devicePost(t, srv, c, p, url.Values{"otc": {dc.UserCode}, "step": {"confirm"}})
	if !strings.Contains(p.Body, "You&#39;re signed in") && !strings.Contains(p.Body, "You're signed in") {
		t.Fatalf("confirmation answered %d %q", p.Status, p.Error())
	}
	st, m := tokenCall(t, srv, url.Values{"grant_type": {"device_code"}, "client_id": {cli}, "device_code": {dc.DeviceCode}})
	if st != 200 || m["access_token"] == nil {
		t.Fatalf("device token: %d %v", st, m)
	}
}
