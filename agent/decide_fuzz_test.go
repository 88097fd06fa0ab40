package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/machineapi"
)

// FuzzDecisionRequest feeds the socket server's parser and decision arbitrary requests: it
// never panics and never allows a login without a certificate from the tenant's CA.
func FuzzDecisionRequest(f *testing.F) {
	fx := newCertFixture(f)
	alice := loginUser(aliceOID, "alice@contoso.test", false)
	good := request(alice.LocalName, fx.issue(f, alice, testNow, nil))
	f.Add(good.User, good.KeyType, good.Cert)
	f.Add("root", "ssh-ed25519", "AAAA")
	f.Add("", "", "")
	other := newCertFixture(f)
	lg := newTestLogin(f, &fakeClock{t: testNow})
	lg.cache = &loginCache{Login: machineapi.Login{CAKeys: []string{other.ca.AuthorizedKeyLine()}, TTLSeconds: 900,
		Users: []machineapi.LoginUser{alice}}, ConfirmedAt: testNow.Add(-time.Minute), ResourceID: testVM, TenantID: testTenant}
	f.Fuzz(func(t *testing.T, user, keyType, cert string) {
		// The cache trusts another CA, so every request must be refused.
		if out := lg.principals(context.Background(), decisionRequest{user, keyType, cert}); out != "" {
			t.Fatalf("allowed %q without a trusted certificate", strings.TrimSpace(out))
		}
	})
}
