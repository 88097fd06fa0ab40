package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/testenv"
)

// acrsClaims is the claims challenge the token endpoint answers a step-up with.
func acrsClaims(ids ...string) string {
	return `{"access_token":{"acrs":{"essential":true,"values":["` + strings.Join(ids, `","`) + `"]}}}`
}

// TestAuthorizeHonoursClaims: with no policy at all, a request's claims parameter alone makes
// the pages ask for the strengths it names, as a client refused with the challenge expects.
func TestAuthorizeHonoursClaims(t *testing.T) {
	cases := []struct {
		name, claims string
		passkey      bool
		status       int
		want         string // in the page after the password
	}{
		{name: "fail/malformed-claims", claims: `{"access_token":`, status: http.StatusBadRequest, want: "claims"},
		{name: "fail/phishing-resistant-offers-only-the-passkey", claims: acrsClaims(conditional.PhishingResistID), passkey: true,
			status: http.StatusOK, want: `id="passkey-signin"`},
		{name: "fail/nothing-registered-is-refused", claims: acrsClaims(conditional.PhishingResistID),
			status: http.StatusForbidden, want: "not registered"},
		{name: "ok/unknown-strength-left-to-the-token-endpoint", claims: acrsClaims(uuid.NewString()), status: http.StatusSeeOther},
		{name: "ok/no-claims", status: http.StatusSeeOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.StartServer(t, testenv.ServerOptions{})
			u := newUser(t, srv, "cara", webPassword)
			if tc.passkey {
				if err := srv.Store.CreatePasskey(context.Background(), authn.Passkey{ID: uuid.NewString(), TenantID: u.TenantID,
					UserID: u.ID, DisplayName: "key", CredentialID: []byte(uuid.NewString()), PublicKey: []byte{1},
					AttestationType: "none", Method: authn.MethodFIDO2, Created: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			_, challenge := pkce("c")
			v := authParams(challenge)
			if tc.claims != "" {
				v.Set("claims", tc.claims)
			}
			c := srv.Browser()
			first, err := testenv.Get(c, srv.Authority()+"/oauth2/v2.0/authorize?"+v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if onlyPasskey := strings.Contains(tc.claims, conditional.PhishingResistID); first.Status == http.StatusOK &&
				strings.Contains(first.Body, `id="username"`) == onlyPasskey {
				t.Errorf("first page: passkey only should be %v:\n%s", onlyPasskey, first.Body)
			}
			p := first
			if first.Status == http.StatusOK {
				p = stepUpPost(t, srv, c, first, v, url.Values{"step": {"password"}, "username": {u.UserPrincipalName}, "credential": {webPassword}})
			}
			if p.Status != tc.status || !strings.Contains(p.Body+p.Error(), tc.want) {
				t.Fatalf("page %d %q, want %d with %q", p.Status, p.Error(), tc.status, tc.want)
			}
			if tc.status != http.StatusSeeOther {
				if p.Location != "" || strings.Contains(p.Body, `id="username"`) {
					t.Fatalf("a code was issued or the password offered again: %q", p.Location)
				}
				return
			}
			if loc, _ := url.Parse(p.Location); loc == nil || loc.Query().Get("code") == "" {
				t.Fatalf("no code: %q", p.Location)
			}
		})
	}
}

// TestAuthorizeClaimsMFAAsksForTheCode: claims naming multifactor authentication after a
// password ask for the authenticator app's code, then issue.
func TestAuthorizeClaimsMFAAsksForTheCode(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := newUser(t, srv, "mona", webPassword)
	secret := withAuthenticatorApp(t, srv, u)
	_, challenge := pkce("m")
	v := authParams(challenge)
	v.Set("claims", acrsClaims(conditional.MultifactorID))
	c, p := passwordOnAuthorize(t, srv, v, u.UserPrincipalName)
	if p.Status != http.StatusOK || !strings.Contains(p.Error(), conditional.MessageMethodNotAllowed) || !strings.Contains(p.Body, `id="otc"`) {
		t.Fatalf("want the code step with the message, got %d %q", p.Status, p.Error())
	}
	p = stepUpPost(t, srv, c, p, v, url.Values{"step": {"otp"}, "otc": {totpNow(secret, time.Now())}})
	loc, _ := url.Parse(p.Location)
	if p.Status != http.StatusSeeOther || loc.Query().Get("code") == "" {
		t.Fatalf("after the code: %d %q %s", p.Status, p.Error(), p.Location)
	}
}

// deviceCodeWithClaims starts a device authorization sending claims; it returns the status
// and, on 200, the codes.
func deviceCodeWithClaims(t *testing.T, srv *testenv.Server, claims string) (int, deviceCodeResponse) {
	t.Helper()
	resp, err := srv.Client.PostForm(srv.Authority()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {cli},
		"scope": {srv.ARMScope() + " offline_access openid"}, "claims": {claims}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dc deviceCodeResponse
	json.NewDecoder(resp.Body).Decode(&dc)
	return resp.StatusCode, dc
}

// TestDeviceCodeHonoursClaims: the claims sent with the device authorization decide the
// device page as they decide the authorization page.
func TestDeviceCodeHonoursClaims(t *testing.T) {
	t.Run("fail/malformed-claims", func(t *testing.T) {
		srv := testenv.StartServer(t, testenv.ServerOptions{})
		if st, _ := deviceCodeWithClaims(t, srv, `{"access_token":{"acrs":{"values":"x"}}}`); st != http.StatusBadRequest {
			t.Fatalf("status %d", st)
		}
	})
	t.Run("fail/mfa-asks-for-the-code-before-the-confirmation", func(t *testing.T) {
		srv := testenv.StartServer(t, testenv.ServerOptions{})
		u := newUser(t, srv, "dora", webPassword)
		secret := withAuthenticatorApp(t, srv, u)
		st, dc := deviceCodeWithClaims(t, srv, acrsClaims(conditional.MultifactorID))
		if st != http.StatusOK {
			t.Fatalf("device code: %d", st)
		}
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
	})
}
