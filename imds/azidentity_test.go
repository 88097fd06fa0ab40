package imds

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// The real client: azidentity's ManagedIdentityCredential (through MSAL Go's managedidentity)
// gets tokens from this server over its three ways in. Each case asks for its own resource,
// because MSAL keeps a process-wide token cache that would otherwise answer without asking.

// identityEnv are the variables by which azidentity picks its protocol.
var identityEnv = []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT",
	"IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID"}

// clearIdentityEnv empties them for this test (an empty variable counts as unset).
func clearIdentityEnv(t *testing.T) {
	for _, k := range identityEnv {
		t.Setenv(k, "")
	}
}

// getToken asks cred for scope with a deadline, so a client that retries cannot hang the test.
func getToken(t *testing.T, cred *azidentity.ManagedIdentityCredential, scope string) (string, time.Time, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	return tok.Token, tok.ExpiresOn, err
}

func newCredential(t *testing.T, opts *azidentity.ManagedIdentityCredentialOptions) *azidentity.ManagedIdentityCredential {
	t.Helper()
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func wantTestJWT(t *testing.T, tok string, exp time.Time, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if tok != testJWT {
		t.Fatalf("token %q", tok)
	}
	if d := time.Until(exp); d < 55*time.Minute || d > 61*time.Minute {
		t.Fatalf("expires in %v, want about an hour", d)
	}
}

// TestAzidentityAppService: IDENTITY_ENDPOINT + IDENTITY_HEADER on the loopback listener.
func TestAzidentityAppService(t *testing.T) {
	s, src, _ := newTestServer(t, Config{Now: time.Now}, systemID, userID)
	base := startLoopback(t, s)
	clearIdentityEnv(t)
	t.Setenv("IDENTITY_ENDPOINT", base+AppServicePath)
	t.Setenv("IDENTITY_HEADER", s.IdentityHeader())

	tok, exp, err := getToken(t, newCredential(t, nil), "https://appservice-system.test/.default")
	wantTestJWT(t, tok, exp, err)
	if src.callCount(systemID, "https://appservice-system.test") != 1 {
		t.Fatalf("the system-assigned identity was not asked for the trimmed resource: %v", src.calls)
	}
	user := newCredential(t, &azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ObjectID(userID.ObjectID)})
	tok, exp, err = getToken(t, user, "https://appservice-user.test/.default")
	wantTestJWT(t, tok, exp, err)
	if src.callCount(userID, "https://appservice-user.test") != 1 {
		t.Fatalf("object_id did not select the user-assigned identity: %v", src.calls)
	}
}

func TestAzidentityAppServiceWrongHeader(t *testing.T) {
	s, _, _ := newTestServer(t, Config{Now: time.Now}, systemID)
	base := startLoopback(t, s)
	clearIdentityEnv(t)
	t.Setenv("IDENTITY_ENDPOINT", base+AppServicePath)
	t.Setenv("IDENTITY_HEADER", "not-the-secret-at-all")
	_, _, err := getToken(t, newCredential(t, nil), "https://appservice-wrong.test/.default")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("fail/app-service-wrong-header: %v", err)
	}
}

// rewriteIMDS sends what azidentity addresses to 169.254.169.254 to the loopback listener,
// leaving the Host header as the client wrote it.
type rewriteIMDS struct{ addr string }

func (r rewriteIMDS) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "169.254.169.254" {
		req = req.Clone(req.Context())
		req.URL.Host = r.addr
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestAzidentityIMDS: the hard-coded IMDS address, reached through a rewriting transport.
func TestAzidentityIMDS(t *testing.T) {
	s, src, _ := newTestServer(t, Config{Now: time.Now}, systemID, userID)
	base := startLoopback(t, s)
	clearIdentityEnv(t)
	opts := func(id azidentity.ManagedIDKind) *azidentity.ManagedIdentityCredentialOptions {
		o := &azidentity.ManagedIdentityCredentialOptions{ID: id}
		o.ClientOptions.Transport = rewriteIMDS{addr: strings.TrimPrefix(base, "http://")}
		return o
	}
	tok, exp, err := getToken(t, newCredential(t, opts(nil)), "https://imds-system.test/.default")
	wantTestJWT(t, tok, exp, err)
	tok, exp, err = getToken(t, newCredential(t, opts(azidentity.ClientID(userID.ClientID))), "https://imds-user.test/.default")
	wantTestJWT(t, tok, exp, err)
	tok, exp, err = getToken(t, newCredential(t, opts(azidentity.ResourceID(userID.ResourceID))), "https://imds-res.test/.default")
	wantTestJWT(t, tok, exp, err)
	if src.callCount(userID, "https://imds-user.test") != 1 || src.callCount(userID, "https://imds-res.test") != 1 {
		t.Fatalf("user-assigned selectors: %v", src.calls)
	}

	start := time.Now()
	_, _, err = getToken(t, newCredential(t, opts(azidentity.ClientID("cccccccc-0000-4000-8000-000000000009"))), "https://imds-unknown.test/.default")
	if err == nil || !strings.Contains(err.Error(), "isn't assigned to this resource") {
		t.Fatalf("fail/unknown-client-id: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("fail/unknown-client-id took %v: the client retried, so the answer was not a plain 400", d)
	}
}

func policyScopes(scope string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{scope}}
}
