package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/cli"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/testenv"
)

// vmPhishingResistant is "VM sign-in requires phishing-resistant MFA" for the Linux VM
// sign-in app, in the state given.
func vmPhishingResistant(state string) string {
	return `{"displayName":"VM sign-in requires phishing-resistant MFA","state":"` + state + `",
 "conditions":{"applications":{"includeApplications":["` + directory.LinuxVMSignInAppID + `"]},
   "users":{"includeUsers":["All"]},"clientAppTypes":["all"]},
 "grantControls":{"operator":"OR","builtInControls":[],
   "authenticationStrength":{"id":"` + conditional.PhishingResistID + `"}}}`
}

// TestConditionalAccessSSH runs `latch ssh vm` against Debian's sshd in a network namespace
// under Conditional Access: a password + authenticator-app sign-in is refused by a
// phishing-resistant policy with the article's message, a passkey sign-in (Chromium's virtual
// authenticator) gets in, the same policy in report-only lets both in and logs the would-be
// failure, and a block policy for the client's named location refuses everyone.
func TestConditionalAccessSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd in network namespaces and Chromium")
	}
	chrome := findChromium(t)
	srv, vm := sshEnv(t)
	vmNS, cliNS := testenv.NewNetns(t, "casshvm"), testenv.NewNetns(t, "casshcli")
	vmNS.Connect(t, cliNS, "10.77.43.0/24")
	sshd := testenv.StartSSHD(t, vmNS, testenv.SSHDConfig{TrustedUserCAKeys: writeTenantCA(t, srv)})
	name := fmt.Sprintf("e2eca%d", os.Getpid())
	password := "correct horse battery staple"
	u := testenv.CreateUser(t, srv, name, password)
	upn := u.UserPrincipalName
	addAccount(t, upn)
	grantRole(t, srv, upn, vm, access.VMUserLoginRoleID)
	secret := withAuthenticatorApp(t, srv, u)
	owner := ownerLogin(t, srv)

	// A passkey first, registered in the browser after a password + code sign-in.
	b := startBrowser(t, chrome)
	registerPasskey(t, b, srv, upn, password, secret)

	// Signed in with password + code, `latch ssh vm` is refused once the policy is on.
	weak := signInWithCode(t, srv, upn, password, secret)
	weak.env["LATCH_SSH"] = sshInNamespace(t, cliNS, sshd)
	policy := createPolicy(t, owner, vmPhishingResistant("enabled"))
	sshVM := []string{"ssh", "vm", "-g", "rg1", "-n", "vm1", "--", "id", "-un"}
	code, _, stderr := weak.run(context.Background(), sshVM...)
	if code == 0 || !strings.Contains(stderr, conditional.MessageMethodNotAllowed) ||
		!strings.Contains(stderr, "Sign in again with a passkey: latch login") {
		t.Fatalf("fail/password-and-code: exit %d\n%s", code, stderr)
	}
	expectLogged(t, srv, policy, "failure", false)

	// After a passkey sign-in, the same command gets in.
	strong := newLatch(t)
	strong.env["LATCH_SSH"] = weak.env["LATCH_SSH"]
	passkeyLogin(t, b, srv, strong)
	if code, stdout, stderr := strong.run(context.Background(), sshVM...); code != 0 || stdout != upn+"\n" {
		t.Fatalf("ok/passkey: exit %d, stdout %q\n%s\nsshd:\n%s", code, stdout, stderr, sshd.Log())
	}
	expectLogged(t, srv, policy, "success", true)

	// Report-only: both get in, and the weak sign-in's would-be failure is logged.
	owner.ok(nil, "conditional-access", "policy", "update", "--id", policy, "--state", "enabledForReportingButNotEnforced")
	for i, l := range []*latch{strong, weak} { // the weak one last: its entry is the newest
		if code, stdout, stderr := l.run(context.Background(), sshVM...); code != 0 || stdout != upn+"\n" {
			t.Fatalf("ok/report-only (%d): exit %d, stdout %q\n%s", i, code, stdout, stderr)
		}
	}
	expectLogged(t, srv, policy, "reportOnlyFailure", true)

	// A block for the named location the client is in refuses even the passkey.
	loc := conditional.NamedLocation{ID: uuid.NewString(), DisplayName: "Loopback", Created: time.Now(),
		IPRanges: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := srv.Store.CreateNamedLocation(context.Background(), srv.TenantID, loc); err != nil {
		t.Fatal(err)
	}
	block := createPolicy(t, owner, `{"displayName":"Block VM sign-in from loopback","state":"enabled",
 "conditions":{"applications":{"includeApplications":["`+directory.LinuxVMSignInAppID+`"]},"users":{"includeUsers":["All"]},
   "clientAppTypes":["all"],"locations":{"includeLocations":["`+loc.ID+`"]}},
 "grantControls":{"operator":"OR","builtInControls":["block"]}}`)
	// --new-cert: the location is checked where the certificate is issued, and a still-valid
	// certificate from before the policy would be reused without asking.
	code, _, stderr = strong.run(context.Background(), append([]string{"ssh", "vm", "--new-cert"}, sshVM[2:]...)...)
	if code == 0 || !strings.Contains(stderr, conditional.MessageBlocked) || strings.Contains(stderr, "latch login") {
		t.Fatalf("fail/blocked-location: exit %d\n%s", code, stderr)
	}
	expectLogged(t, srv, block, "failure", false)

	// On a terminal the password + code sign-in steps up by itself: the refusal's claims go to
	// the authorization page with the account as login hint, the browser (signed in with the
	// passkey) meets them, and the command gets in with the new tokens.
	owner.ok(nil, "conditional-access", "policy", "update", "--id", block, "--state", "disabled")
	owner.ok(nil, "conditional-access", "policy", "update", "--id", policy, "--state", "enabled")
	stepUpWithPasskey(t, b, weak, append([]string{"ssh", "vm", "--new-cert"}, sshVM[2:]...), upn)
	expectLogged(t, srv, policy, "success", true)
}

// stepUpWithPasskey runs args for l as a person at a terminal whose browser is b, and expects
// the refusal to be met by signing in again there with the claims and the account.
func stepUpWithPasskey(t *testing.T, b *browser, l *latch, args []string, upn string) {
	t.Helper()
	opened := make(chan string, 1)
	ctx := cli.WithBrowser(cli.WithTerminal(context.Background()), func(_ context.Context, authURL string) error {
		opened <- authURL
		go func() {
			nav, cancel := context.WithTimeout(b.ctx, stepTimeout)
			defer cancel()
			chromedp.Do(nav, chromedp.Navigate(authURL))
		}()
		return nil
	})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	code, stdout, stderr := l.run(ctx, args...)
	if code != 0 || stdout != upn+"\n" || !strings.Contains(stderr, "Signing you in again to meet it") {
		t.Fatalf("ok/step-up-on-a-terminal: exit %d, stdout %q\n%s\npage: %s", code, stdout, stderr, b.visibleText())
	}
	u, err := url.Parse(<-opened)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); !strings.Contains(q.Get("claims"), conditional.PhishingResistID) || q.Get("login_hint") != upn {
		t.Errorf("the step-up's authorization request: claims %q, login_hint %q", q.Get("claims"), q.Get("login_hint"))
	}
}

// createPolicy creates a policy through the CLI and returns its id.
func createPolicy(t *testing.T, owner *latch, body string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var p struct{ ID string }
	owner.ok(&p, "conditional-access", "policy", "create", "--body", "@"+file)
	return p.ID
}

// expectLogged checks the newest certificate sign-in in the log: the policy's result, and
// whether a certificate was issued.
func expectLogged(t *testing.T, srv *testenv.Server, policyID, result string, issued bool) {
	t.Helper()
	if err := srv.API.FlushSignIns(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := srv.Store.ListSignIns(context.Background(), srv.TenantID, signinlog.Filter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all { // newest first
		if e.Latch.Flow != signinlog.FlowSSHCertificate {
			continue
		}
		var got string
		for _, p := range e.AppliedPolicies {
			if p.ID == policyID {
				got = p.Result
			}
		}
		if got != result || (e.Status.ErrorCode == 0) != issued || e.CorrelationID == "" {
			t.Fatalf("newest certificate sign-in: policy result %q (want %q), status %+v, correlation %q",
				got, result, e.Status, e.CorrelationID)
		}
		if !issued && !strings.Contains(e.Status.AdditionalDetails, policyID) {
			t.Fatalf("the refusal's detail %q does not name the policy", e.Status.AdditionalDetails)
		}
		return
	}
	t.Fatal("no certificate sign-in in the log")
}

// withAuthenticatorApp gives u a confirmed authenticator app and turns per-user MFA on, so a
// password sign-in asks for a code.
func withAuthenticatorApp(t *testing.T, srv *testenv.Server, u directory.User) []byte {
	t.Helper()
	ctx := context.Background()
	secret := []byte(uuid.NewString()[:20])
	if err := srv.Store.CreateTOTP(ctx, authn.TOTPMethod{ID: uuid.NewString(), TenantID: u.TenantID, UserID: u.ID,
		DisplayName: "app", Secret: secret, Confirmed: true, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store.UpdateUser(ctx, u.TenantID, u.ID, func(cur directory.User) (directory.User, error) {
		cur.MFA = directory.MFAEnabled
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// totpAt is the RFC 6238 code of secret for the 30-second step holding at.
func totpAt(secret []byte, at time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1000000)
}

// registerPasskey signs upn in on the pages with password and the previous step's code
// (each code is taken once, so later sign-ins use later steps), adds a passkey of the virtual
// authenticator under Security info, and signs out.
func registerPasskey(t *testing.T, b *browser, srv *testenv.Server, upn, password string, secret []byte) {
	t.Helper()
	b.do("open the sign-in page", chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS(`button[name="way"]`)))
	b.do("choose another way", chromedp.Click(chromedp.CSS(`button[name="way"]`)), chromedp.WaitVisible(chromedp.CSS("#credential")))
	b.do("sign in with the password",
		chromedp.SendKeys(chromedp.CSS("#username"), upn),
		chromedp.SendKeys(chromedp.CSS("#credential"), password),
		chromedp.Submit(chromedp.CSS("#credential")),
		chromedp.WaitVisible(chromedp.CSS("#otc")))
	b.do("enter the code",
		chromedp.SendKeys(chromedp.CSS("#otc"), totpAt(secret, time.Now().Add(-30*time.Second))),
		chromedp.Submit(chromedp.CSS("#otc")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-add")))
	b.do("register a passkey",
		chromedp.SetValue(chromedp.CSS("#passkey-name"), "Virtual authenticator"),
		chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	b.expectText(".notice", "Your passkey was added")
	b.do("sign out", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)))
	b.waitText("h1", "You signed out")
}

// passkeyLogin runs `latch login` for l in the browser, which signs in with the passkey.
func passkeyLogin(t *testing.T, b *browser, srv *testenv.Server, l *latch) {
	t.Helper()
	opened := make(chan error, 1)
	ctx := cli.WithBrowser(context.Background(), func(_ context.Context, authURL string) error {
		go func() {
			nav, cancel := context.WithTimeout(b.ctx, stepTimeout)
			defer cancel()
			opened <- chromedp.Do(nav, chromedp.Navigate(authURL))
		}()
		return nil
	})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if code, _, stderr := l.run(ctx, "login", "--server", srv.URL, "--ca-file", srv.CAFile); code != 0 {
		t.Fatalf("latch login with the passkey: exit %d: %s (page: %s)", code, stderr, b.visibleText())
	}
	if err := <-opened; err != nil {
		t.Fatalf("opening the sign-in page: %v", err)
	}
}

// signInWithCode runs `latch login`, answering the sign-in pages with the password and the
// current step's authenticator code, as a person without a passkey at hand does.
func signInWithCode(t *testing.T, srv *testenv.Server, upn, password string, secret []byte) *latch {
	t.Helper()
	l := newLatch(t)
	ctx := cli.WithBrowser(context.Background(), func(_ context.Context, authURL string) error {
		go func() {
			if err := formSignInWithCode(srv, authURL, upn, password, secret); err != nil {
				t.Error(err)
			}
		}()
		return nil
	})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if code, _, stderr := l.run(ctx, "login", "--server", srv.URL, "--ca-file", srv.CAFile); code != 0 {
		t.Fatalf("%s cannot sign in with password and code: exit %d: %s", upn, code, stderr)
	}
	return l
}

// formSignInWithCode posts the password step and the code step of authURL's sign-in and
// hands the result to the CLI's redirect URI.
func formSignInWithCode(srv *testenv.Server, authURL, upn, password string, secret []byte) error {
	c := srv.Browser()
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	endpoint := u.Scheme + "://" + u.Host + u.Path
	p, err := testenv.Get(c, authURL)
	for _, step := range []url.Values{{"step": {"password"}, "username": {upn}, "credential": {password}},
		{"step": {"otp"}, "otc": {totpAt(secret, time.Now())}}} {
		if err != nil {
			return err
		}
		form := u.Query()
		for k, v := range step {
			form[k] = v
		}
		form.Set("csrf", p.CSRF)
		p, err = testenv.Post(c, endpoint, form)
	}
	if err != nil {
		return err
	}
	if p.Status == http.StatusOK && strings.Contains(p.Body, "<title>Continue</title>") {
		action, fields := testenv.ParseFormPost(p.Body)
		resp, err := http.PostForm(action, fields)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if p.Status != http.StatusSeeOther && p.Status != http.StatusFound {
		return fmt.Errorf("the code step answered %d: %s", p.Status, p.Error())
	}
	resp, err := http.Get(p.Location)
	if err == nil {
		resp.Body.Close()
	}
	return err
}
