package httpapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/directory"
)

func TestGraphApplicationsAndServicePrincipals(t *testing.T) {
	f := newGraphFixture(t)
	appAdmin := f.createUser(t, f.Tenant.ID, "apps@contoso.test", directory.ApplicationAdministrator)
	appAdminTok := f.tokenFor(t, appAdmin)
	var app map[string]any
	f.run(t, []graphCase{
		{name: "fail/create-app-no-token", method: "POST", path: "/v1.0/applications", body: `{"displayName":"deploy"}`, status: 401, code: codeAuth},
		{name: "fail/create-app-plain-user", method: "POST", path: "/v1.0/applications", tok: f.aliceTok, body: `{"displayName":"deploy"}`, status: 403, code: codeDenied},
		{name: "fail/create-app-user-admin", method: "POST", path: "/v1.0/applications", tok: f.userAdminTok, body: `{"displayName":"deploy"}`, status: 403, code: codeDenied},
		{name: "fail/create-app-unknown-field", method: "POST", path: "/v1.0/applications", tok: f.adminTok, body: `{"displayName":"deploy","owners":[]}`, status: 400, code: codeBad},
		{name: "fail/create-app-no-name", method: "POST", path: "/v1.0/applications", tok: f.adminTok, body: `{}`, status: 400, code: codeBad},
		{name: "fail/create-app-multitenant", method: "POST", path: "/v1.0/applications", tok: f.adminTok, body: `{"displayName":"d","signInAudience":"AzureADMultipleOrgs"}`, status: 400, code: codeBad},
		{name: "fail/create-app-http-redirect", method: "POST", path: "/v1.0/applications", tok: f.adminTok, body: `{"displayName":"d","web":{"redirectUris":["http://evil.test/cb"]}}`, status: 400, code: codeBad},
		{name: "ok/create-app", method: "POST", path: "/v1.0/applications", tok: appAdminTok,
			body: `{"displayName":"deploy","web":{"redirectUris":["https://deploy.contoso.test/cb"]}}`, status: 201, check: func(t *testing.T, m map[string]any) {
				app = m
				if m["@odata.type"] != "#microsoft.graph.application" || m["displayName"] != "deploy" || m["appId"] == "" {
					t.Errorf("application %v", m)
				}
			}},
	})
	id, appID := app["id"].(string), app["appId"].(string)
	f.run(t, []graphCase{
		// az ad sp create-for-rbac asks for the service principal of the app it just made.
		{name: "ok/create-sp-for-app", method: "POST", path: "/v1.0/servicePrincipals", tok: appAdminTok, body: map[string]any{"appId": appID}, status: 201, check: func(t *testing.T, m map[string]any) {
			if m["@odata.type"] != "#microsoft.graph.servicePrincipal" || m["id"] != id || m["appId"] != appID {
				t.Errorf("service principal %v", m)
			}
		}},
		{name: "fail/create-sp-unknown-app", method: "POST", path: "/v1.0/servicePrincipals", tok: f.adminTok, body: map[string]any{"appId": uuid.NewString()}, status: 400, code: codeBad},
		{name: "fail/create-sp-plain-user", method: "POST", path: "/v1.0/servicePrincipals", tok: f.aliceTok, body: map[string]any{"appId": appID}, status: 403, code: codeDenied},
		{name: "fail/create-sp-unknown-field", method: "POST", path: "/v1.0/servicePrincipals", tok: f.adminTok, body: `{"appId":"x","tags":[]}`, status: 400, code: codeBad},
		{name: "ok/get-sp-by-app-id", method: "GET", path: "/v1.0/servicePrincipals/" + appID, tok: f.aliceTok, status: 200},
		{name: "ok/get-app", method: "GET", path: "/v1.0/applications/" + id, tok: f.readerAppTok, status: 200},
		{name: "fail/get-app-other-tenant", method: "GET", path: "/v1.0/applications/" + id, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/get-sp-app-without-role", method: "GET", path: "/v1.0/servicePrincipals/" + id, tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "ok/filter-spn-any", method: "GET", path: "/v1.0/servicePrincipals?$filter=" + url.QueryEscape("servicePrincipalNames/any(c:c eq '"+strings.ToUpper(appID)+"')"), tok: f.aliceTok, status: 200, check: wantIDs(id)},
		{name: "ok/filter-app-id", method: "GET", path: "/v1.0/applications?$filter=" + url.QueryEscape("appId eq '"+appID+"'"), tok: f.aliceTok, status: 200, check: wantIDs(id)},
		{name: "fail/filter-apps-by-spn", method: "GET", path: "/v1.0/applications?$filter=" + url.QueryEscape("servicePrincipalNames/any(c:c eq 'x')"), tok: f.aliceTok, status: 400, code: codeQuery},
		{name: "ok/apps-exclude-sign-in-apps", method: "GET", path: "/v1.0/applications", tok: f.aliceTok, status: 200, check: wantIDs(id, f.readerApp.ID, f.plainApp.ID)},
		{name: "fail/patch-sp-plain-user", method: "PATCH", path: "/v1.0/servicePrincipals/" + id, tok: f.aliceTok, body: `{"accountEnabled":false}`, status: 403, code: codeDenied},
		{name: "fail/patch-sp-unknown-field", method: "PATCH", path: "/v1.0/servicePrincipals/" + id, tok: f.adminTok, body: `{"appRoles":[]}`, status: 400, code: codeBad},
		{name: "ok/patch-sp", method: "PATCH", path: "/v1.0/servicePrincipals/" + id, tok: appAdminTok, body: `{"displayName":"deployer"}`, status: 204},
		{name: "fail/patch-app-plain-user", method: "PATCH", path: "/v1.0/applications/" + id, tok: f.aliceTok, body: `{"displayName":"x"}`, status: 403, code: codeDenied},
		{name: "fail/patch-app-other-tenant", method: "PATCH", path: "/v1.0/applications/" + id, tok: f.otherTok, body: `{"displayName":"x"}`, status: 404, code: codeNotFound},
		{name: "fail/patch-app-bad-redirect", method: "PATCH", path: "/v1.0/applications/" + id, tok: f.adminTok, body: `{"publicClient":{"redirectUris":["http://example.test/"]}}`, status: 400, code: codeBad},
		{name: "fail/patch-app-unknown-field", method: "PATCH", path: "/v1.0/applications/" + id, tok: f.adminTok, body: `{"api":{}}`, status: 400, code: codeBad},
		{name: "ok/patch-app-public-client", method: "PATCH", path: "/v1.0/applications/" + id, tok: appAdminTok, body: `{"publicClient":{"redirectUris":["http://localhost:8400"]}}`, status: 204},
		{name: "ok/patched-app", method: "GET", path: "/v1.0/applications/" + id, tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			pc := m["publicClient"].(map[string]any)["redirectUris"].([]any)
			web := m["web"].(map[string]any)["redirectUris"].([]any)
			if m["displayName"] != "deployer" || len(pc) != 1 || pc[0] != "http://localhost:8400" || len(web) != 0 || m["isFallbackPublicClient"] != true {
				t.Errorf("after PATCH %v", m)
			}
		}},
		{name: "fail/delete-app-plain-user", method: "DELETE", path: "/v1.0/applications/" + id, tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "fail/delete-app-other-tenant", method: "DELETE", path: "/v1.0/applications/" + id, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "ok/delete-app", method: "DELETE", path: "/v1.0/applications/" + id, tok: appAdminTok, status: 204},
		{name: "fail/sp-gone-with-app", method: "GET", path: "/v1.0/servicePrincipals/" + id, tok: f.aliceTok, status: 404, code: codeNotFound},
	})
}

func TestGraphWellKnownSignInApp(t *testing.T) {
	f := newGraphFixture(t)
	linux := directory.ServicePrincipal{ID: uuid.NewString(), TenantID: f.Tenant.ID, AppID: directory.LinuxVMSignInAppID,
		DisplayName: "Azure Linux VM Sign-In", Type: directory.SPApplication, AccountEnabled: true,
		ServicePrincipalNames: []string{directory.LinuxVMSignInAppID}}
	if err := f.Store.CreateServicePrincipal(context.Background(), linux); err != nil {
		t.Fatal(err)
	}
	f.run(t, []graphCase{
		{name: "fail/not-an-application", method: "GET", path: "/v1.0/applications/" + linux.ID, tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "ok/delete-sp", method: "DELETE", path: "/v1.0/servicePrincipals/" + linux.ID, tok: f.adminTok, status: 204},
		{name: "ok/recreate", method: "POST", path: "/v1.0/servicePrincipals", tok: f.adminTok, body: map[string]any{"appId": directory.LinuxVMSignInAppID}, status: 201, check: func(t *testing.T, m map[string]any) {
			if m["displayName"] != "Azure Linux VM Sign-In" || m["accountEnabled"] != true {
				t.Errorf("recreated %v", m)
			}
		}},
	})
}

func TestGraphManagedIdentityIsReadOnly(t *testing.T) {
	f := newGraphFixture(t)
	mi := directory.ServicePrincipal{ID: uuid.NewString(), TenantID: f.Tenant.ID, AppID: uuid.NewString(), DisplayName: "vm1",
		Type: directory.SPManagedIdentity, AccountEnabled: true, ManagedResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"}
	if err := f.Store.CreateServicePrincipal(context.Background(), mi); err != nil {
		t.Fatal(err)
	}
	f.run(t, []graphCase{
		{name: "ok/get", method: "GET", path: "/v1.0/servicePrincipals/" + mi.ID, tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if m["servicePrincipalType"] != "ManagedIdentity" {
				t.Errorf("managed identity %v", m)
			}
		}},
		{name: "fail/no-application-view", method: "GET", path: "/v1.0/applications/" + mi.ID, tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "fail/delete", method: "DELETE", path: "/v1.0/servicePrincipals/" + mi.ID, tok: f.adminTok, status: 400, code: codeBad},
		{name: "fail/add-password", method: "POST", path: "/v1.0/servicePrincipals/" + mi.ID + "/addPassword", tok: f.adminTok, body: `{}`, status: 400, code: codeBad},
	})
}

func TestGraphAddRemovePassword(t *testing.T) {
	f := newGraphFixture(t)
	appAdmin := f.createUser(t, f.Tenant.ID, "apps@contoso.test", directory.ApplicationAdministrator)
	appAdminTok := f.tokenFor(t, appAdmin)
	owner := f.createApp(t, f.Tenant.ID, "owner", directory.GlobalAdministrator)
	end := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	body := map[string]any{"passwordCredential": map[string]any{"displayName": "ci", "endDateTime": end}}
	add := "/v1.0/applications/" + f.plainApp.ID + "/addPassword"
	var secret, keyID string
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "POST", path: add, body: body, status: 401, code: codeAuth},
		{name: "fail/plain-user", method: "POST", path: add, tok: f.aliceTok, body: body, status: 403, code: codeDenied},
		{name: "fail/reader-app", method: "POST", path: add, tok: f.readerAppTok, body: body, status: 403, code: codeDenied},
		{name: "fail/other-tenant", method: "POST", path: add, tok: f.otherTok, body: body, status: 404, code: codeNotFound},
		{name: "fail/unknown-field", method: "POST", path: add, tok: f.adminTok, body: `{"passwordCredential":{"value":"x"}}`, status: 400, code: codeBad},
		{name: "fail/chosen-secret", method: "POST", path: add, tok: f.adminTok, body: `{"passwordCredential":{"secretText":"mine"}}`, status: 400, code: codeBad},
		{name: "fail/past-end", method: "POST", path: add, tok: f.adminTok, body: `{"passwordCredential":{"endDateTime":"2001-01-01T00:00:00Z"}}`, status: 400, code: codeBad},
		{name: "fail/bad-date", method: "POST", path: add, tok: f.adminTok, body: `{"passwordCredential":{"endDateTime":"next tuesday"}}`, status: 400, code: codeBad},
		// An Application Administrator adding a secret to a Global Administrator app would become it.
		{name: "fail/app-admin-on-privileged-app", method: "POST", path: "/v1.0/servicePrincipals/" + owner.ID + "/addPassword", tok: appAdminTok, body: body, status: 403, code: codeDenied},
		{name: "ok/add", method: "POST", path: add, tok: appAdminTok, body: body, status: 200, check: func(t *testing.T, m map[string]any) {
			secret, _ = m["secretText"].(string)
			keyID, _ = m["keyId"].(string)
			if len(secret) < 30 || m["hint"] != secret[:3] || m["displayName"] != "ci" || !strings.HasPrefix(m["endDateTime"].(string), end[:10]) {
				t.Errorf("passwordCredential %v", m)
			}
		}},
		{name: "ok/secret-never-shown-again", method: "GET", path: "/v1.0/servicePrincipals/" + f.plainApp.ID, tok: f.adminTok, status: 200, check: func(t *testing.T, m map[string]any) {
			creds := m["passwordCredentials"].([]any)
			c := creds[0].(map[string]any)
			if len(creds) != 1 || c["secretText"] != nil || c["hash"] != nil || c["keyId"] != keyID {
				t.Errorf("passwordCredentials %v", creds)
			}
		}},
	})
	sp, err := f.Store.GetServicePrincipal(context.Background(), f.Tenant.ID, f.plainApp.ID)
	if err != nil || f.API.Secrets.Verify(sp, secret) != nil {
		t.Fatalf("the returned secret does not verify: %v", err)
	}
	remove := "/v1.0/servicePrincipals/" + f.plainApp.ID + "/removePassword"
	f.run(t, []graphCase{
		{name: "fail/remove-plain-user", method: "POST", path: remove, tok: f.aliceTok, body: map[string]any{"keyId": keyID}, status: 403, code: codeDenied},
		{name: "fail/remove-unknown-key", method: "POST", path: remove, tok: f.adminTok, body: map[string]any{"keyId": uuid.NewString()}, status: 404, code: codeNotFound},
		{name: "ok/remove", method: "POST", path: remove, tok: f.adminTok, body: map[string]any{"keyId": keyID}, status: 204},
		{name: "fail/remove-twice", method: "POST", path: remove, tok: f.adminTok, body: map[string]any{"keyId": keyID}, status: 404, code: codeNotFound},
	})
	sp, _ = f.Store.GetServicePrincipal(context.Background(), f.Tenant.ID, f.plainApp.ID)
	if f.API.Secrets.Verify(sp, secret) == nil {
		t.Fatal("a removed secret still verifies")
	}
}
