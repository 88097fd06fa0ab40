package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchsh/latch/cli"
	"github.com/latchsh/latch/testenv"
)

// TestDeviceKeyLogin: an admin gives a new user a Temporary Access Pass with the CLI; the
// user signs in with it, registers a PIN-protected device key, and then signs in with the key
// alone. A temporary password set later refuses the key until it is changed in the browser.
func TestDeviceKeyLogin(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	owner := ownerLogin(t, srv)
	owner.ok(nil, "ad", "user", "create", "--display-name", "Gina", "--user-principal-name", "gina@contoso.test", "--password", "ginas long passphrase")
	var tap struct {
		Pass    string `json:"temporaryAccessPass"`
		OneTime bool   `json:"isUsableOnce"`
	}
	owner.ok(&tap, "ad", "user", "tap", "create", "--upn", "gina@contoso.test", "--one-time", "--lifetime", "1h")
	if tap.Pass == "" || !tap.OneTime {
		t.Fatalf("tap create: %+v", tap)
	}
	if code, _, stderr := owner.run(context.Background(), "ad", "user", "tap", "create", "--upn", "gina@contoso.test", "--lifetime", "90s"); code != 2 {
		t.Fatalf("fail/odd-lifetime: exit %d %s", code, stderr)
	}

	l := newLatch(t)
	browserLogin(t, srv, l, "gina@contoso.test", tap.Pass)
	if code, _, stderr := l.runIn(context.Background(), "123456\n", "passkey", "register", "--device", "--pin", "--name", "test laptop"); code != 0 {
		t.Fatalf("passkey register: exit %d: %s", code, stderr)
	}
	if fi, err := os.Stat(filepath.Join(l.env["LATCH_CONFIG_DIR"], "devicekey.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("device key file: %v %v", fi, err)
	}
	l.ok(nil, "logout")
	login := []string{"login", "--passkey", "--server", srv.URL, "--ca-file", srv.CAFile, "--allow-no-subscriptions"}
	if code, _, stderr := l.runIn(context.Background(), "654321\n", login...); code == 0 || !strings.Contains(stderr, "PIN is not correct") {
		t.Fatalf("fail/wrong-pin: exit %d: %s", code, stderr)
	}
	if code, _, stderr := l.runIn(context.Background(), "123456\n", login...); code != 0 {
		t.Fatalf("login --passkey: exit %d: %s", code, stderr)
	}
	if name := strings.TrimSpace(l.ok(nil, "account", "show", "--query", "user.name", "-o", "tsv")); name != "gina@contoso.test" {
		t.Fatalf("account show names %q", name)
	}
	if amr := tokenAMR(t, l); !slices.Contains(amr, "swk") {
		t.Fatalf("amr %v, want swk (a software key, recorded honestly)", amr)
	}

	owner.ok(nil, "ad", "user", "update", "--id", "gina@contoso.test", "--password", "a temporary passphrase", "--force-change-password-next-sign-in", "true")
	code, _, stderr := l.runIn(context.Background(), "123456\n", login...)
	if code == 0 || !strings.Contains(stderr, "Your credentials did not work") || !strings.Contains(stderr, "temporary") {
		t.Fatalf("fail/temporary-password: exit %d: %s", code, stderr)
	}
}

// browserLogin runs "latch login" with the sign-in form posted over HTTP.
func browserLogin(t *testing.T, srv *testenv.Server, l *latch, upn, credential string) {
	t.Helper()
	ctx := cli.WithBrowser(context.Background(), func(_ context.Context, authURL string) error {
		go func() {
			if err := srv.SignInWithForm(authURL, upn, credential); err != nil {
				t.Error(err)
			}
		}()
		return nil
	})
	if code, _, stderr := l.run(ctx, "login", "--server", srv.URL, "--ca-file", srv.CAFile, "--allow-no-subscriptions"); code != 0 {
		t.Fatalf("browser login: exit %d: %s", code, stderr)
	}
}

// runIn is run with stdin.
func (l *latch) runIn(ctx context.Context, stdin string, args ...string) (int, string, string) {
	var out, errb strings.Builder
	code := cli.Run(ctx, args, strings.NewReader(stdin), &out, &errb, l.env)
	return code, out.String(), errb.String()
}
