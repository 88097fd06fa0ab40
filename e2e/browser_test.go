package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/latchsh/latch/cli"
	"github.com/latchsh/latch/testenv"
)

// TestBrowserPasskeyJourney drives the sign-in pages in real Chromium with a virtual
// passkey authenticator: the bootstrap admin signs in with the Temporary Access Pass,
// registers a passkey, signs out, signs in with the passkey alone, then approves a
// `latch login --use-device-code` started here, after which `latch account show` names the
// admin and the CLI's token says a passkey was used.
func TestBrowserPasskeyJourney(t *testing.T) {
	chrome := findChromium(t)
	var serverLog bytes.Buffer
	srv := testenv.StartServer(t, testenv.ServerOptions{Log: &serverLog})
	b := startBrowser(t, chrome)
	t.Cleanup(func() {
		if t.Failed() {
			b.dumpPage("failure")
			t.Logf("server log:\n%s", serverLog.String())
		}
	})
	admin := srv.Boot.Admin.UserPrincipalName

	// Sign in with the Temporary Access Pass ("use another way").
	b.do("open the sign-in page", chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#passkey-signin")))
	b.screenshot("signin")
	b.phoneScreenshot("signin-phone")
	b.do("choose another way", chromedp.Click(chromedp.CSS(`button[name="way"]`)), chromedp.WaitVisible(chromedp.CSS("#credential")))
	b.do("sign in with the pass",
		chromedp.SendKeys(chromedp.CSS("#username"), admin),
		chromedp.SendKeys(chromedp.CSS("#credential"), srv.Boot.Admin.TemporaryAccessPass),
		chromedp.Submit(chromedp.CSS("#credential")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-add")))

	// Register a passkey on the security-info page.
	b.do("register a passkey",
		chromedp.SetValue(chromedp.CSS("#passkey-name"), "Virtual authenticator"),
		chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	b.expectText(".notice", "Your passkey was added")
	b.expectText("ul.list", "Virtual authenticator")
	b.screenshot("securityinfo")

	// Sign out; the old session is gone.
	b.do("sign out", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)))
	b.waitText("h1", "You signed out")

	// Sign in with the passkey alone: conditional mediation offers it in the user name
	// field, and the virtual authenticator answers at once.
	b.do("sign in with the passkey", chromedp.Navigate(srv.URL+"/login?return=%2Fsessions"))
	b.waitText("main", "Signed in with passkey")
	b.screenshot("sessions")
	b.do("sign out again", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)))
	b.waitText("h1", "You signed out")

	// Approve a device-code login of the command line, signing in with the passkey again.
	l := newLatch(t)
	login := startDeviceLogin(t, l, srv)
	b.do("open the device page", chromedp.Navigate(srv.URL+"/devicelogin"), chromedp.WaitVisible(chromedp.CSS("#otc")))
	b.screenshot("devicecode")
	b.do("enter the code",
		chromedp.SendKeys(chromedp.CSS("#otc"), login.code),
		chromedp.Submit(chromedp.CSS("#otc")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="confirm"]`)))
	b.expectText("h1", "Are you trying to sign in to")
	b.screenshot("devicecode-confirm")
	b.do("confirm", chromedp.Click(chromedp.CSS(`button[value="confirm"]`)))
	b.waitText("h1", "You're signed in")
	login.wait(t)

	if name := strings.TrimSpace(l.ok(nil, "account", "show", "--query", "user.name", "-o", "tsv")); name != admin {
		t.Fatalf("account show names %q, want %q", name, admin)
	}
	if amr := tokenAMR(t, l); !slices.Contains(amr, "fido") || !slices.Contains(amr, "mfa") {
		t.Fatalf("the CLI's token has amr %v, want fido and mfa", amr)
	}
	browserPasskeyLogin(t, b, srv)
}

// browserPasskeyLogin runs `latch login` in the browser, signed out first: the authorization
// endpoint's sign-in page takes the passkey, and the code comes back to the CLI's loopback
// listener.
func browserPasskeyLogin(t *testing.T, b *browser, srv *testenv.Server) {
	b.do("sign out before the browser login", chromedp.Navigate(srv.URL+"/logout"), chromedp.WaitVisible(chromedp.CSS(`main form[action="/logout"] button`)))
	b.do("confirm sign-out", chromedp.Click(chromedp.CSS(`main form[action="/logout"] button`)))
	b.waitText("h1", "You signed out")
	l2 := newLatch(t)
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
	if code, _, stderr := l2.run(ctx, "login", "--server", srv.URL, "--ca-file", srv.CAFile); code != 0 {
		t.Fatalf("latch login in the browser: exit %d: %s (page: %s)", code, stderr, b.visibleText())
	}
	if err := <-opened; err != nil {
		t.Fatalf("opening the sign-in page: %v", err)
	}
	if amr := tokenAMR(t, l2); !slices.Contains(amr, "fido") {
		t.Fatalf("browser login token amr %v, want fido", amr)
	}
}

// findChromium returns Debian's chromium. Without it the test fails in CI (which installs
// it with scripts/install.sh) and is skipped elsewhere.
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; run scripts/install.sh")
	}
	t.Skip("chromium is not installed (scripts/install.sh installs it)")
	return ""
}

// browser is one headless Chromium with a virtual passkey authenticator, and where its
// screenshots go.
type browser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
}

// stepTimeout bounds every browser step: a WebAuthn call that never resolves must fail the
// test quickly, not after the browser's 300 s default.
const stepTimeout = 20 * time.Second

func startBrowser(t *testing.T, chrome string) *browser {
	home := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(filepath.Join(home, "profile")),
		chromedp.Env("HOME="+home),
		chromedp.WindowSize(1280, 900),
		// The server's certificate comes from the test's own CA; with the virtual
		// authenticator on, WebAuthn works on such a page.
		chromedp.Flag("ignore-certificate-errors", true),
	)
	// The whole browser lives at most this long, whatever happens.
	parent, cancelAll := context.WithTimeout(context.Background(), 3*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelAll() })
	b := &browser{t: t, ctx: ctx, artifacts: artifactsDir(t)}
	b.addAuthenticator()
	return b
}

// addAuthenticator is the first command, which also starts the browser. Presence
// simulation is set explicitly: left unset it is sent as false, and every ceremony hangs.
func (b *browser) addAuthenticator() {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("start chromium and enable WebAuthn: %v", err)
	}
	_, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		b.t.Fatalf("add a virtual authenticator: %v", err)
	}
}

// do runs one named step within stepTimeout.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (page: %s)", step, err, b.visibleText())
	}
}

// expectText fails unless the element's text contains want.
func (b *browser) expectText(sel, want string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil || !strings.Contains(got, want) {
		b.t.Fatalf("%s says %q (%v), want %q", sel, got, err, want)
	}
}

// waitText waits, across page loads, until the element's text contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	expr := `(function(){ var e = document.querySelector(` + strconv.Quote(sel) + `); return e ? e.innerText : ""; })()`
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %q in %s: page says %q", want, sel, b.visibleText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// visibleText is the page's text, to say where a failed step stopped.
func (b *browser) visibleText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return strings.Join(strings.Fields(s), " ")
}

// screenshot saves the whole page as name.png in the artifacts directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // PNG only at quality 100
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.save(name+".png", png)
}

// phoneScreenshot saves the page as a phone shows it (390×844, the size of a common one).
func (b *browser) phoneScreenshot(name string) {
	b.t.Helper()
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	b.screenshot(name)
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 900))
}

// dumpPage saves the current page's HTML, for a failure's post-mortem.
func (b *browser) dumpPage(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		b.save(name+".html", []byte(html))
	}
}

func (b *browser) save(name string, data []byte) {
	path := filepath.Join(b.artifacts, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.t.Errorf("save %s: %v", path, err)
		return
	}
	b.t.Logf("saved %s", path)
}

// artifactsDir is $LATCH_ARTIFACTS (made if missing), else the test's temporary directory.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("LATCH_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// deviceLogin is a `latch login --use-device-code` running in the background.
type deviceLogin struct {
	code   string
	done   chan struct{}
	exit   int
	stderr *lineWatcher
}

func startDeviceLogin(t *testing.T, l *latch, srv *testenv.Server) *deviceLogin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	d := &deviceLogin{done: make(chan struct{}),
		stderr: &lineWatcher{re: regexp.MustCompile(`enter the code ([A-Z0-9]+) to authenticate`), found: make(chan string, 1)}}
	go func() {
		defer close(d.done)
		var out bytes.Buffer
		d.exit = cli.Run(ctx, []string{"login", "--server", srv.URL, "--ca-file", srv.CAFile, "--use-device-code"}, nil, &out, d.stderr, l.env)
	}()
	select {
	case d.code = <-d.stderr.found:
	case <-d.done:
		t.Fatalf("latch login ended before printing a code: %s", d.stderr.String())
	case <-ctx.Done():
		t.Fatal("latch login printed no code in time")
	}
	return d
}

func (d *deviceLogin) wait(t *testing.T) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(time.Minute):
		t.Fatal("latch login did not finish after the approval")
	}
	if d.exit != 0 {
		t.Fatalf("latch login --use-device-code: exit %d: %s", d.exit, d.stderr.String())
	}
}

// tokenAMR reads the amr claim of the CLI's access token (it trusts its own server; the
// server verified the signature when issuing it).
func tokenAMR(t *testing.T, l *latch) []string {
	t.Helper()
	var tok struct{ AccessToken string }
	l.ok(&tok, "account", "get-access-token")
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.AMR
}
