package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/latchsh/latch/access"
)

// The remembered-host rule at the token endpoint: the first certificate for a machine needs
// host_consent naming it, answered as Entra answers an interaction it needs (with the
// suberror host_consent_required); once given, the machine is remembered and a refused
// request leaves the refresh token usable.
func TestSSHCertHostConsent(t *testing.T) {
	f := newSSHFixture(t)
	f.assign(t, f.vm, f.alice.ID, access.VMUserLoginRoleID)
	noConsent := func(v url.Values) { v.Del("host_consent") }
	consent := func(id string) func(url.Values) { return func(v url.Values) { v.Set("host_consent", id) } }
	rt := f.refreshToken(t, f.alice)

	st, m := f.post(t, f.sshForm(rt, f.vm, noConsent))
	if st != 400 || m["error"] != "interaction_required" || m["suberror"] != "host_consent_required" ||
		!strings.Contains(m["error_description"].(string), "Allow the connection to vm1? Latch asks the first time you connect to a machine and remembers up to 15 machines for 30 days.") {
		t.Fatalf("fail/first-connection: %d %v", st, m)
	}
	st, m = f.post(t, f.sshForm(rt, f.vm, consent(f.otherVM)))
	if st != 400 || m["error"] != "invalid_request" || !strings.Contains(m["error_description"].(string), "host_consent") {
		t.Fatalf("fail/consent-for-another-vm: %d %v", st, m)
	}
	st, m = f.post(t, f.sshForm(rt, f.vm, consent(strings.ToUpper(f.vm))))
	if st != 200 || m["access_token"] == nil {
		t.Fatalf("ok/consent (the refused requests left the refresh token usable): %d %v", st, m)
	}
	st, m = f.post(t, f.sshForm(m["refresh_token"].(string), f.vm, noConsent))
	if st != 200 {
		t.Fatalf("ok/remembered: %d %v", st, m)
	}
}
