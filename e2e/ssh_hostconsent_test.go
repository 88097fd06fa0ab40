package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/testenv"
)

// The article's remembered hosts through the CLI against the real server: the first
// certificate for a machine needs the person's consent (a script, with no terminal to ask on,
// is told about --allow-host), and once given the machine is remembered.
func TestSSHHostConsentThroughCLI(t *testing.T) {
	srv, vm := sshEnv(t)
	testenv.CreateUser(t, srv, "hana", "correct horse battery staple")
	grantRole(t, srv, "hana@contoso.test", vm, access.VMUserLoginRoleID)
	l := signIn(t, srv, "hana@contoso.test", "correct horse battery staple")
	delete(l.env, "LATCH_SSH_ALLOW_HOST") // this test is about being asked

	code, _, stderr := l.run(context.Background(), "ssh", "cert", "-g", "rg1", "-n", "vm1")
	if code == 0 || !strings.Contains(stderr, "Allow the connection to vm1? Latch asks the first time you connect to a machine and remembers up to 15 machines for 30 days.") ||
		!strings.Contains(stderr, "--allow-host") {
		t.Fatalf("first connection without consent: exit %d\n%s", code, stderr)
	}
	var cred struct{ VMID string }
	l.ok(&cred, "ssh", "cert", "-g", "rg1", "-n", "vm1", "--allow-host")
	if !strings.EqualFold(cred.VMID, vm) {
		t.Fatalf("certificate for %q, want %q", cred.VMID, vm)
	}
	// Remembered: no consent needed the next time (--new-cert, so the service is asked again).
	l.ok(nil, "ssh", "cert", "-g", "rg1", "-n", "vm1", "--new-cert")
	hosts, err := srv.Store.GetRememberedHosts(context.Background(), srv.TenantID, userID(t, srv, "hana@contoso.test"))
	if err != nil || len(hosts) != 1 || hosts[0].Name != "vm1" {
		t.Fatalf("remembered %v, %v", hosts, err)
	}
}

func userID(t *testing.T, srv *testenv.Server, upn string) string {
	t.Helper()
	u, err := srv.Store.GetUserByUPN(context.Background(), srv.TenantID, upn)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
