package httpapi_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/directory"
)

// addDevice puts an Entra-joined device straight into the store.
func (f *graphFixture) addDevice(t *testing.T, tenantID, name, os string) directory.Device {
	t.Helper()
	now := time.Now().UTC()
	d := directory.Device{ID: uuid.NewString(), TenantID: tenantID, DeviceID: uuid.NewString(), DisplayName: name,
		OperatingSystem: os, OperatingSystemVersion: "1", TrustType: directory.TrustTypeAzureAD,
		ProfileType: directory.ProfileRegisteredDevice, AccountEnabled: true, RegistrationDateTime: now,
		AlternativeSecurityIDs: []directory.AlternativeSecurityID{{Type: directory.AltSecIDCertificate, Key: "0A0B"}},
		Certificate:            directory.DeviceCertificate{Thumbprint: "0A0B", NotBefore: now, NotAfter: now.AddDate(1, 0, 0)},
		RegisteredBy:           uuid.NewString()}
	if err := f.Store.CreateDevice(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGraphDevices(t *testing.T) {
	f := newGraphFixture(t)
	a := f.addDevice(t, f.Tenant.ID, "vm1", "Linux")
	b := f.addDevice(t, f.Tenant.ID, "vm1", "Linux") // Entra allows a name twice
	w := f.addDevice(t, f.Tenant.ID, "win1", "Windows")
	other := f.addDevice(t, f.otherAdmin.TenantID, "vm1", "Linux")
	q := func(filter string) string { return "/v1.0/devices?$filter=" + url.QueryEscape(filter) }
	path := "/v1.0/devices/" + a.ID
	cda := f.tokenFor(t, f.createUser(t, f.Tenant.ID, "cda@contoso.test", directory.CloudDeviceAdministrator))
	f.run(t, []graphCase{
		{name: "fail/no-token", method: "GET", path: "/v1.0/devices", status: 401, code: codeAuth},
		{name: "fail/arm-audience", method: "GET", path: "/v1.0/devices", tok: f.armTokenFor(t, f.admin), status: 401, code: codeAuth},
		{name: "fail/app-without-role", method: "GET", path: "/v1.0/devices", tok: f.plainAppTok, status: 403, code: codeDenied},
		{name: "fail/other-tenant-get", method: "GET", path: path, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/other-tenant-delete", method: "DELETE", path: path, tok: f.otherTok, status: 404, code: codeNotFound},
		{name: "fail/unknown-id", method: "GET", path: "/v1.0/devices/" + uuid.NewString(), tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "fail/not-an-id", method: "GET", path: "/v1.0/devices/vm1", tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "fail/unknown-filter-property", method: "GET", path: q("isCompliant eq true"), tok: f.aliceTok, status: 400, code: codeQuery},
		{name: "fail/delete-as-user", method: "DELETE", path: path, tok: f.aliceTok, status: 403, code: codeDenied},
		{name: "fail/delete-as-user-admin", method: "DELETE", path: path, tok: f.userAdminTok, status: 403, code: codeDenied},
		{name: "fail/delete-as-reader-app", method: "DELETE", path: path, tok: f.readerAppTok, status: 403, code: codeDenied},
		{name: "ok/list-as-user", method: "GET", path: "/v1.0/devices", tok: f.aliceTok, status: 200, check: wantIDs(a.ID, b.ID, w.ID)},
		{name: "ok/list-only-own-tenant", method: "GET", path: "/v1.0/devices", tok: f.otherTok, status: 200, check: wantIDs(other.ID)},
		{name: "ok/list-as-reader-app", method: "GET", path: "/v1.0/devices", tok: f.readerAppTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if got, want := m["@odata.context"], f.URL+"/v1.0/$metadata#devices"; got != want {
				t.Errorf("@odata.context %v, want %v", got, want)
			}
		}},
		{name: "ok/filter-display-name", method: "GET", path: q("displayName eq 'vm1'"), tok: f.aliceTok, status: 200, check: wantIDs(a.ID, b.ID)},
		{name: "ok/filter-device-id", method: "GET", path: q("deviceId eq '" + w.DeviceID + "'"), tok: f.aliceTok, status: 200, check: wantIDs(w.ID)},
		{name: "ok/filter-os", method: "GET", path: q("startswith(operatingSystem,'win')"), tok: f.aliceTok, status: 200, check: wantIDs(w.ID)},
		{name: "ok/top", method: "GET", path: "/v1.0/devices?$top=1", tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			if n := len(values(t, m)); n != 1 || m["@odata.nextLink"] == nil {
				t.Errorf("$top=1 gave %d devices, nextLink %v", n, m["@odata.nextLink"])
			}
		}},
		{name: "ok/get", method: "GET", path: path, tok: f.aliceTok, status: 200, check: func(t *testing.T, m map[string]any) {
			l, _ := m["latch"].(map[string]any)
			alt, _ := m["alternativeSecurityIds"].([]any)
			if m["@odata.context"] != f.URL+"/v1.0/$metadata#devices/$entity" || m["@odata.type"] != "#microsoft.graph.device" ||
				m["deviceId"] != a.DeviceID || m["trustType"] != "AzureAd" || m["profileType"] != "RegisteredDevice" ||
				l["certificateThumbprint"] != "0A0B" || len(alt) != 1 || m["approximateLastSignInDateTime"] != nil {
				t.Errorf("device %v", m)
			}
		}},
		{name: "fail/cloud-device-admin-cannot-delete-users", method: "DELETE", path: "/v1.0/users/" + f.alice.ID, tok: cda, status: 403, code: codeDenied},
		{name: "ok/delete-as-cloud-device-admin", method: "DELETE", path: "/v1.0/devices/" + w.ID, tok: cda, status: 204},
		{name: "ok/delete-as-global-admin", method: "DELETE", path: path, tok: f.adminTok, status: 204},
		{name: "fail/get-after-delete", method: "GET", path: path, tok: f.aliceTok, status: 404, code: codeNotFound},
		{name: "ok/others-remain", method: "GET", path: "/v1.0/devices", tok: f.aliceTok, status: 200, check: wantIDs(b.ID)},
	})
}
