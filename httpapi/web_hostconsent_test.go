package httpapi_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/testenv"
)

// hostConsentFixture is an sshFixture where alice may log in to vm1 and dave (Contributor on
// the subscription) may not, both with a password for the sign-in page.
type hostConsentFixture struct {
	*sshFixture
}

func newHostConsentFixture(t *testing.T) *hostConsentFixture {
	t.Helper()
	f := &hostConsentFixture{newSSHFixture(t)}
	f.assign(t, f.vm, f.alice.ID, access.VMUserLoginRoleID)
	f.alice = f.setPassword(t, f.alice, webPassword)
	f.dave = f.setPassword(t, f.dave, webPassword)
	return f
}

// browser is a browser without a session; signedIn one with u's full session.
func (f *hostConsentFixture) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *f.Client
	c.Jar = jar
	return &c
}

func (f *hostConsentFixture) signedIn(t *testing.T, u directory.User) *http.Client {
	t.Helper()
	c := f.browser()
	first := page(t, c, http.MethodGet, f.URL+"/login", nil)
	p := page(t, c, http.MethodPost, f.URL+"/login", url.Values{"csrf": {first.CSRF}, "step": {"password"},
		"username": {u.UserPrincipalName}, "credential": {webPassword}, "return": {"/security-info"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign-in of %s answered %d: %s", u.UserPrincipalName, p.Status, p.Error())
	}
	return c
}

// pageURL is the question's address for vm in tenant tenantID.
func (f *hostConsentFixture) pageURL(tenantID, vm string) string {
	return f.URL + "/" + tenantID + "/ssh/hostconsent?vm=" + url.QueryEscape(vm)
}

// answer posts step (allow or deny) for vm with browser c, with the CSRF token of the page it
// shows, or without one when csrf is false.
func (f *hostConsentFixture) answer(t *testing.T, c *http.Client, vm, step string, csrf bool) testenv.Page {
	t.Helper()
	form := url.Values{"vm": {vm}, "step": {step}}
	if csrf {
		form.Set("csrf", page(t, c, http.MethodGet, f.pageURL(f.Tenant.ID, vm), nil).CSRF)
	}
	return page(t, c, http.MethodPost, f.URL+"/"+f.Tenant.ID+"/ssh/hostconsent", form)
}

// remembered is how many machines u has allowed.
func (f *hostConsentFixture) remembered(t *testing.T, u directory.User) int {
	t.Helper()
	hs, err := f.Store.GetRememberedHosts(context.Background(), u.TenantID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(hs)
}

func TestHostConsentPageRefusals(t *testing.T) {
	f := newHostConsentFixture(t)
	alice, dave := f.signedIn(t, f.alice), f.signedIn(t, f.dave)
	fabrikam := f.other.TenantID
	for _, tc := range []struct {
		name   string
		do     func() testenv.Page
		status int
		want   string // in the body, or the Location of a redirect
	}{
		{"fail/no-session-signs-in-first", func() testenv.Page {
			return page(t, f.browser(), http.MethodGet, f.pageURL(f.Tenant.ID, f.vm), nil)
		}, http.StatusSeeOther, "/login?return=" + url.QueryEscape("/"+f.Tenant.ID+"/ssh/hostconsent?vm="+url.QueryEscape(f.vm))},
		{"fail/no-session-post", func() testenv.Page {
			c := f.browser()
			first := page(t, c, http.MethodGet, f.URL+"/login", nil)
			return page(t, c, http.MethodPost, f.URL+"/"+f.Tenant.ID+"/ssh/hostconsent", url.Values{"csrf": {first.CSRF}, "vm": {f.vm}, "step": {"allow"}})
		}, http.StatusUnauthorized, "not signed in"},
		{"fail/csrf-missing", func() testenv.Page { return f.answer(t, alice, f.vm, "allow", false) }, http.StatusForbidden, ""},
		{"fail/no-login-role-asks-nothing", func() testenv.Page {
			return page(t, dave, http.MethodGet, f.pageURL(f.Tenant.ID, f.vm), nil)
		}, http.StatusForbidden, "Your account is configured to prevent you from using this device."},
		{"fail/no-login-role-allow", func() testenv.Page { return f.answer(t, dave, f.vm, "allow", false) }, http.StatusForbidden, ""},
		{"fail/no-login-role-allow-with-csrf", func() testenv.Page {
			first := page(t, dave, http.MethodGet, f.URL+"/security-info", nil)
			return page(t, dave, http.MethodPost, f.URL+"/"+f.Tenant.ID+"/ssh/hostconsent", url.Values{"csrf": {first.CSRF}, "vm": {f.vm}, "step": {"allow"}})
		}, http.StatusForbidden, "Your account is configured to prevent you from using this device."},
		{"fail/other-tenants-vm", func() testenv.Page {
			return page(t, alice, http.MethodGet, f.pageURL(f.Tenant.ID, f.otherVM), nil)
		}, http.StatusNotFound, "was not found in contoso.test"},
		{"fail/other-tenants-page", func() testenv.Page {
			return page(t, alice, http.MethodGet, f.pageURL(fabrikam, f.otherVM), nil)
		}, http.StatusForbidden, "another organisation"},
		{"fail/unknown-vm", func() testenv.Page {
			return page(t, alice, http.MethodGet, f.pageURL(f.Tenant.ID, f.vmPath("rg", "nope")), nil)
		}, http.StatusNotFound, "was not found"},
		{"fail/malformed-id", func() testenv.Page {
			return page(t, alice, http.MethodGet, f.pageURL(f.Tenant.ID, "not an id"), nil)
		}, http.StatusBadRequest, "must be a virtual machine"},
		{"fail/resource-group-id", func() testenv.Page {
			return page(t, alice, http.MethodGet, f.pageURL(f.Tenant.ID, f.rgPath("rg")), nil)
		}, http.StatusBadRequest, "must be a virtual machine"},
		{"fail/no-vm", func() testenv.Page {
			return page(t, alice, http.MethodGet, f.URL+"/"+f.Tenant.ID+"/ssh/hostconsent", nil)
		}, http.StatusBadRequest, "names no machine"},
		{"fail/too-long-id", func() testenv.Page {
			return page(t, alice, http.MethodGet, f.pageURL(f.Tenant.ID, f.vm+strings.Repeat("x", 2000)), nil)
		}, http.StatusBadRequest, "too long"},
		{"fail/unknown-answer", func() testenv.Page { return f.answer(t, alice, f.vm, "maybe", true) }, http.StatusBadRequest, "Choose Allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.do()
			got := p.Body
			if p.Status == http.StatusSeeOther {
				got = p.Location
			}
			if p.Status != tc.status || !strings.Contains(got, tc.want) {
				t.Fatalf("got %d %q, want %d with %q", p.Status, truncated(got), tc.status, tc.want)
			}
			if n := f.remembered(t, f.alice) + f.remembered(t, f.dave); n != 0 {
				t.Fatalf("a refusal remembered %d machines", n)
			}
		})
	}
}

func truncated(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// Signing in from the page's redirect comes back to the page.
func TestHostConsentPageSignInReturns(t *testing.T) {
	f := newHostConsentFixture(t)
	c := f.browser()
	to := page(t, c, http.MethodGet, f.pageURL(f.Tenant.ID, f.vm), nil)
	first := page(t, c, http.MethodGet, f.URL+to.Location, nil)
	ret, _ := url.Parse(to.Location)
	p := page(t, c, http.MethodPost, f.URL+"/login", url.Values{"csrf": {first.CSRF}, "step": {"password"},
		"username": {f.alice.UserPrincipalName}, "credential": {webPassword}, "return": {ret.Query().Get("return")}})
	if p.Status != http.StatusSeeOther || f.URL+p.Location != f.pageURL(f.Tenant.ID, f.vm) {
		t.Fatalf("after sign-in: %d to %q", p.Status, p.Location)
	}
	if q := page(t, c, http.MethodGet, f.URL+p.Location, nil); q.Status != http.StatusOK || !strings.Contains(q.Body, "Allow the connection to vm1?") {
		t.Fatalf("back on the page: %d %s", q.Status, q.Error())
	}
}

func TestHostConsentPage(t *testing.T) {
	for _, tc := range []struct {
		name, step, answer, says string
		remembered               int
		sshStatus                int
	}{
		{"ok/dont-allow-records-nothing", "deny", "declined", "You did not allow the connection to vm1, and nothing was remembered.", 0, http.StatusBadRequest},
		{"ok/allow-records", "allow", "allowed", "You allowed the connection to vm1.", 1, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostConsentFixture(t)
			c := f.signedIn(t, f.alice)
			q := page(t, c, http.MethodGet, f.pageURL(f.Tenant.ID, f.vm), nil)
			for _, want := range []string{"Allow the connection to vm1? Latch remembers up to 15 machines for 30 days.",
				"Resource group rg", "Subscription dev", `name="csrf"`, `value="` + f.vm + `"`} {
				if q.Status != http.StatusOK || !strings.Contains(q.Body, want) {
					t.Fatalf("the question: %d, no %q in\n%s", q.Status, want, truncated(q.Body))
				}
			}
			p := f.answer(t, c, f.vm, tc.step, true)
			if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "answer="+tc.answer) {
				t.Fatalf("after the answer: %d to %q", p.Status, p.Location)
			}
			if after := page(t, c, http.MethodGet, f.URL+p.Location, nil); !strings.Contains(after.Body, tc.says) {
				t.Fatalf("the page after: %d %s", after.Status, truncated(after.Body))
			}
			if n := f.remembered(t, f.alice); n != tc.remembered {
				t.Fatalf("%d machines remembered, want %d", n, tc.remembered)
			}
			st, m := f.post(t, f.sshForm(f.refreshToken(t, f.alice), f.vm, func(v url.Values) { v.Del("host_consent") }))
			if st != tc.sshStatus || (st != http.StatusOK && (m["suberror"] != "host_consent_required" ||
				!strings.Contains(m["error_description"].(string), "You can answer at "+f.pageURL(f.Tenant.ID, f.vm)))) {
				t.Fatalf("the certificate request without host_consent: %d %v", st, m)
			}
		})
	}
}

// "answer=allowed" in the address is not believed: without a remembered machine the page asks.
func TestHostConsentPageAnswerIsNotTrusted(t *testing.T) {
	f := newHostConsentFixture(t)
	c := f.signedIn(t, f.alice)
	p := page(t, c, http.MethodGet, f.pageURL(f.Tenant.ID, f.vm)+"&answer=allowed", nil)
	if p.Status != http.StatusOK || strings.Contains(p.Body, "You allowed") || !strings.Contains(p.Body, "Allow the connection to vm1?") {
		t.Fatalf("got %d %s", p.Status, truncated(p.Body))
	}
}
