package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/testenv"
)

// These tests drive the token service with Microsoft's and CoreOS's own client libraries, not
// ours: if they accept Latch, so do the applications built on them.

func TestRealClientOIDCDiscovery(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	ctx := oidc.ClientContext(context.Background(), srv.Client)
	p, err := oidc.NewProvider(ctx, srv.Authority()+"/v2.0")
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	if got, want := p.Endpoint().TokenURL, srv.Authority()+"/oauth2/v2.0/token"; got != want {
		t.Errorf("token endpoint %q, want %q", got, want)
	}
	// The domain and the "organizations" alias name the same tenant and the same issuer.
	for _, alias := range []string{"contoso.test", "organizations"} {
		if _, err := oidc.NewProvider(ctx, srv.URL+"/"+alias+"/v2.0"); err == nil {
			t.Errorf("discovery under %q must fail go-oidc's issuer check (issuer is the tenant id)", alias)
		}
	}
}

func TestRealClientMSALClientCredentials(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	ctx := context.Background()
	app := msalOwner(t, srv, srv.Boot.Owner.Secret)
	res, err := app.AcquireTokenByCredential(ctx, []string{srv.ARMScope()})
	if err != nil {
		t.Fatalf("MSAL client credentials: %v", err)
	}
	status := get(t, srv, "/subscriptions?api-version=2022-12-01", res.AccessToken)
	if status != http.StatusOK {
		t.Errorf("GET /subscriptions with the MSAL token: %d", status)
	}

	app2 := msalOwner(t, srv, "not-the-secret-"+strings.Repeat("x", 30))
	if _, err := app2.AcquireTokenByCredential(ctx, []string{srv.ARMScope()}); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: got %v, want invalid_client", err)
	}
}

func TestRealClientMSALDeviceCode(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	app := msalCLI(t, srv)
	dc, err := app.AcquireTokenByDeviceCode(ctx, []string{srv.ARMScope()})
	if err != nil {
		t.Fatalf("MSAL device code: %v", err)
	}
	if !strings.Contains(dc.Result.Message, srv.URL+"/devicelogin") {
		t.Errorf("message %q does not name the device login page", dc.Result.Message)
	}
	approveDevice(t, srv, dc.Result.UserCode, srv.Boot.Admin.UserPrincipalName, srv.Boot.Admin.TemporaryAccessPass)
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("MSAL device code result: %v", err)
	}
	if res.Account.PreferredUsername != srv.Boot.Admin.UserPrincipalName {
		t.Errorf("account %q, want %q", res.Account.PreferredUsername, srv.Boot.Admin.UserPrincipalName)
	}
	verifyIDToken(t, srv, res.IDToken.RawToken)

	// The refresh token MSAL cached gets a token for another resource silently.
	accounts, _ := app.Accounts(ctx)
	if len(accounts) != 1 {
		t.Fatalf("MSAL cached %d accounts, want 1", len(accounts))
	}
	if _, err := app.AcquireTokenSilent(ctx, []string{srv.GraphScope()}, public.WithSilentAccount(accounts[0])); err != nil {
		t.Errorf("silent token for Graph: %v", err)
	}
}

func TestRealClientMSALInteractive(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	app := msalCLI(t, srv)
	upn, pass := srv.Boot.Admin.UserPrincipalName, srv.Boot.Admin.TemporaryAccessPass
	// openURL plays the browser: it shows the sign-in page, posts the credentials and follows
	// the redirect back to MSAL's loopback listener.
	openURL := func(u string) error {
		go func() {
			if err := srv.SignInWithForm(u, upn, pass); err != nil {
				t.Error(err)
			}
		}()
		return nil
	}
	res, err := app.AcquireTokenInteractive(ctx, []string{srv.ARMScope()}, public.WithOpenURL(openURL),
		public.WithRedirectURI("http://localhost"))
	if err != nil {
		t.Fatalf("MSAL interactive: %v", err)
	}
	if res.Account.PreferredUsername != upn {
		t.Errorf("account %q, want %q", res.Account.PreferredUsername, upn)
	}
	verifyIDToken(t, srv, res.IDToken.RawToken)
}

func verifyIDToken(t *testing.T, srv *testenv.Server, raw string) {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), srv.Client)
	p, err := oidc.NewProvider(ctx, srv.Authority()+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Verifier(&oidc.Config{ClientID: directory.AzureCLIAppID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc verify ID token: %v", err)
	}
	var claims struct {
		TID string `json:"tid"`
		UPN string `json:"preferred_username"`
	}
	if err := tok.Claims(&claims); err != nil || claims.TID != srv.TenantID || claims.UPN == "" {
		t.Errorf("ID token claims %+v, err %v", claims, err)
	}
	if _, err := p.Verifier(&oidc.Config{ClientID: "some-other-client"}).Verify(ctx, raw); err == nil {
		t.Error("go-oidc accepted the ID token for another client")
	}
}

// approveDevice approves a device code on /devicelogin as the person would.
func approveDevice(t *testing.T, srv *testenv.Server, code, upn, credential string) {
	t.Helper()
	if err := srv.ApproveDevice(code, upn, credential); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, srv *testenv.Server, path, bearer string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// msalOwner is MSAL Go's confidential client for the owner's app id with secret, pointed at the
// server's tenant authority with instance discovery off, as a self-hosted authority needs.
func msalOwner(t *testing.T, srv *testenv.Server, secret string) confidential.Client {
	t.Helper()
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(srv.Authority(), srv.Boot.Owner.AppID, cred,
		confidential.WithHTTPClient(srv.Client), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// msalCLI is MSAL Go's public client with the CLI's app id, pointed at the server.
func msalCLI(t *testing.T, srv *testenv.Server) public.Client {
	t.Helper()
	app, err := public.New(directory.AzureCLIAppID, public.WithAuthority(srv.Authority()),
		public.WithHTTPClient(srv.Client), public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	return app
}
