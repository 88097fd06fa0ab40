package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/token"
)

// drsFixture is the machine fixture plus registration tokens of two VMs' managed identities.
type drsFixture struct {
	*machineFixture
	tid          string
	tok1, tok2   string // registration tokens of vm1's and vm3's identities
	vm3, vm3Path string // vm3's principal id and ARM path
}

func newDRSFixture(t *testing.T) *drsFixture {
	f := &drsFixture{machineFixture: newMachineFixture(t)}
	f.vm3Path = f.vmPath("rg1", "vm3")
	resp, m := f.do(t, "PUT", f.vm3Path+apiVM, f.adminTok, vmBody("westus", true))
	if resp.StatusCode != 201 {
		t.Fatalf("create vm3: %d %v", resp.StatusCode, m)
	}
	f.vm3 = m["identity"].(map[string]any)["principalId"].(string)
	f.tok1, f.tid = f.registrationToken(t, f.withID, f.principalID)
	f.tok2, _ = f.registrationToken(t, f.vm3Path, f.vm3)
	return f
}

// registrationToken asks the machine token endpoint, as the metadata service does, for the
// VM identity's token for the registration resource, and checks its oid and audience.
func (f *drsFixture) registrationToken(t *testing.T, vmPath, principalID string) (string, string) {
	t.Helper()
	k, id, tid := f.connect(t, vmPath)
	st, m := f.machineDo(t, "POST", "/machines/token", k.proof(t, nil, f.claims(id, tid)),
		map[string]any{"resource": machineapi.RegistrationResource})
	if st != 200 {
		t.Fatalf("registration token: %d %v", st, m)
	}
	raw := m["access_token"].(string)
	claims := jwtPayload(t, raw)
	if claims["oid"] != principalID || claims["aud"] != machineapi.RegistrationResource {
		t.Fatalf("registration token claims %v, want oid %s", claims, principalID)
	}
	return raw, tid
}

// csr is a PKCS#10 request in standard base64 for a new key of the given curve.
func csr(t testing.TB, curve elliptic.Curve) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "vm1"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// joinBody is a valid join request for tenant tid; change fields per case.
func joinBody(t testing.TB, tid, name string) map[string]any {
	return map[string]any{
		"CertificateRequest": map[string]any{"Type": "pkcs10", "Data": csr(t, elliptic.P256())},
		"DeviceDisplayName":  name, "DeviceType": "Linux", "OSVersion": "Debian 12",
		"TargetDomain": tid, "JoinType": 4,
	}
}

const joinPath = machineapi.PathDeviceRegistration + "/?api-version=2.0"

func TestDeviceJoinRefusals(t *testing.T) {
	f := newDRSFixture(t)
	with := func(k string, v any) map[string]any { b := joinBody(t, f.tid, "vm1"); b[k] = v; return b }
	userTok := func() string {
		c := f.userClaims(f.alice)
		c.Audience = machineapi.RegistrationResource
		return f.sign(t, c)
	}()
	app := directory.ServicePrincipal{ID: uuid.NewString(), TenantID: f.tid, AppID: uuid.NewString(), DisplayName: "app",
		Type: directory.SPApplication, AccountEnabled: true}
	if err := f.Store.CreateServicePrincipal(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	appClaims := f.appClaims(app)
	appClaims.Audience = machineapi.RegistrationResource
	armMI := f.appClaims(directory.ServicePrincipal{ID: f.principalID, TenantID: f.tid, AppID: uuid.NewString()})
	armMI.Audience = f.ARMAudience()
	forged := f.tok1[:len(f.tok1)-4] + "AAAA"
	cases := []struct {
		name, tok string
		body      any
		status    int
		code      string
	}{
		{"fail/no-token", "", joinBody(t, f.tid, "vm1"), 401, "invalid_token"},
		{"fail/forged-signature", forged, joinBody(t, f.tid, "vm1"), 401, "invalid_token"},
		{"fail/token-for-arm", f.sign(t, armMI), joinBody(t, f.tid, "vm1"), 401, "invalid_token"},
		{"fail/user-token", userTok, joinBody(t, f.tid, "vm1"), 403, "unauthorized_client"},
		{"fail/app-not-managed-identity", f.sign(t, appClaims), joinBody(t, f.tid, "vm1"), 403, "unauthorized_client"},
		{"fail/other-tenant", f.tok1, with("TargetDomain", uuid.NewString()), 403, "invalid_request"},
		{"fail/target-domain-not-guid", f.tok1, with("TargetDomain", "contoso.test"), 400, "invalid_request"},
		{"fail/csr-not-base64", f.tok1, with("CertificateRequest", map[string]any{"Type": "pkcs10", "Data": "!!"}), 400, "invalid_request"},
		{"fail/csr-garbage", f.tok1, with("CertificateRequest", map[string]any{"Type": "pkcs10", "Data": "AAAA"}), 400, "invalid_request"},
		{"fail/csr-p384", f.tok1, with("CertificateRequest", map[string]any{"Type": "pkcs10", "Data": csr(t, elliptic.P384())}), 400, "invalid_request"},
		{"fail/csr-type", f.tok1, with("CertificateRequest", map[string]any{"Type": "x509", "Data": csr(t, elliptic.P256())}), 400, "invalid_request"},
		{"fail/unknown-field", f.tok1, with("Extra", true), 400, "invalid_request"},
		{"fail/join-type", f.tok1, with("JoinType", 0), 400, "invalid_request"},
		{"fail/no-display-name", f.tok1, with("DeviceDisplayName", ""), 400, "invalid_request"},
		{"fail/control-in-name", f.tok1, with("DeviceDisplayName", "vm\x1b[2J"), 400, "invalid_request"},
		{"fail/not-json", f.tok1, "DeviceDisplayName=vm1", 400, "invalid_request"},
		{"fail/oversized", f.tok1, with("DeviceDisplayName", strings.Repeat("x", 40<<10)), 413, "request_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := f.do(t, "POST", joinPath, c.tok, c.body)
			if resp.StatusCode != c.status || errorCode(m) != c.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, m, c.status, c.code)
			}
			if e, _ := m["error"].(map[string]any); e["clientrequestid"] == nil || e["time"] == nil {
				t.Fatalf("error body %v lacks the service's clientrequestid and time", m)
			}
		})
	}
	if list, _ := f.Store.ListDevices(t.Context(), f.tid); len(list) != 0 {
		t.Fatalf("refused joins left %d devices", len(list))
	}
}

// join registers a device and returns the answer, failing the test unless it is 200.
func (f *drsFixture) join(t *testing.T, tok, name string) machineapi.DeviceJoinResponse {
	t.Helper()
	resp, m := f.do(t, "POST", machineapi.PathDeviceRegistration, tok, joinBody(t, f.tid, name))
	if resp.StatusCode != 200 {
		t.Fatalf("join: %d %v", resp.StatusCode, m)
	}
	cert, _ := m["Certificate"].(map[string]any)
	out := machineapi.DeviceJoinResponse{DeviceID: m["DeviceId"].(string), ObjectID: m["ObjectId"].(string), TenantID: m["TenantId"].(string)}
	out.Certificate.Thumbprint, _ = cert["Thumbprint"].(string)
	out.Certificate.RawBody, _ = cert["RawBody"].(string)
	return out
}

// vmDeviceID is the device id recorded on the VM at path.
func (f *drsFixture) vmDeviceID(t *testing.T, path string) string {
	t.Helper()
	vm, err := f.Store.GetResource(t.Context(), f.tid, path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := resource.ParseVMProperties(vm.Properties)
	if err != nil {
		t.Fatal(err)
	}
	return p.Machine.DeviceID
}

func TestDeviceJoin(t *testing.T) {
	f := newDRSFixture(t)
	var first machineapi.DeviceJoinResponse
	t.Run("ok/join-issues-certificate-from-tenant-ca", func(t *testing.T) {
		first = f.join(t, f.tok1, "vm1")
		der, err := base64.StdEncoding.DecodeString(first.Certificate.RawBody)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := f.Store.GetDeviceCA(t.Context(), f.tid)
		if err != nil {
			t.Fatal(err)
		}
		ca, err := token.UnmarshalDeviceCA(rec.Key)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.Certificate())
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("the device certificate does not chain to the tenant's device CA: %v", err)
		}
		if cert.Subject.CommonName != first.DeviceID || first.Certificate.Thumbprint != token.Thumbprint(der) ||
			first.TenantID != f.tid || first.ObjectID == first.DeviceID {
			t.Fatalf("answer %+v, certificate CN %q", first, cert.Subject.CommonName)
		}
		d, err := f.Store.GetDeviceByDeviceID(t.Context(), f.tid, first.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != first.ObjectID || d.RegisteredBy != f.principalID || d.TrustType != "AzureAd" || d.DisplayName != "vm1" ||
			len(d.AlternativeSecurityIDs) != 1 || d.AlternativeSecurityIDs[0].Key != first.Certificate.Thumbprint ||
			!strings.EqualFold(d.ResourceID, f.withID) {
			t.Fatalf("device %+v", d)
		}
		if got := f.vmDeviceID(t, f.withID); got != first.DeviceID {
			t.Fatalf("the VM records device %q, want %q", got, first.DeviceID)
		}
		resp, vm := f.do(t, "GET", f.withID+apiVM, f.adminTok, nil)
		props, _ := vm["properties"].(map[string]any)
		machine, _ := props["machine"].(map[string]any)
		if resp.StatusCode != 200 || machine["deviceId"] != first.DeviceID {
			t.Fatalf("vm show: %d, properties.machine %v; want deviceId %s", resp.StatusCode, machine, first.DeviceID)
		}
	})
	var second machineapi.DeviceJoinResponse
	t.Run("ok/rejoin-same-vm-replaces", func(t *testing.T) {
		second = f.join(t, f.tok1, "vm1")
		if second.DeviceID == first.DeviceID {
			t.Fatal("a re-join kept the device id")
		}
		if _, err := f.Store.GetDeviceByDeviceID(t.Context(), f.tid, first.DeviceID); err == nil {
			t.Fatal("the VM's earlier device is still in the directory")
		}
		if list, _ := f.Store.ListDevices(t.Context(), f.tid); len(list) != 1 {
			t.Fatalf("%d devices after a re-join, want 1", len(list))
		}
		if got := f.vmDeviceID(t, f.withID); got != second.DeviceID {
			t.Fatalf("the VM records device %q, want %q", got, second.DeviceID)
		}
	})
	var other machineapi.DeviceJoinResponse
	t.Run("ok/same-display-name-other-vm", func(t *testing.T) {
		other = f.join(t, f.tok2, "vm1")
		if list, _ := f.Store.ListDevices(t.Context(), f.tid); len(list) != 2 {
			t.Fatalf("%d devices, want 2: another VM may use the same name", len(list))
		}
	})
	t.Run("fail/leave-by-other-identity", func(t *testing.T) {
		resp, m := f.do(t, "DELETE", machineapi.PathDeviceRegistration+"/"+second.DeviceID, f.tok2, nil)
		if resp.StatusCode != 403 || errorCode(m) != "unauthorized_client" {
			t.Fatalf("got %d %v, want 403", resp.StatusCode, m)
		}
		if _, err := f.Store.GetDeviceByDeviceID(t.Context(), f.tid, second.DeviceID); err != nil {
			t.Fatalf("the device is gone after a refused leave: %v", err)
		}
	})
	t.Run("fail/leave-unknown-device", func(t *testing.T) {
		resp, m := f.do(t, "DELETE", machineapi.PathDeviceRegistration+"/"+uuid.NewString(), f.tok1, nil)
		if resp.StatusCode != 404 || errorCode(m) != "device_not_found" {
			t.Fatalf("got %d %v, want 404", resp.StatusCode, m)
		}
	})
	t.Run("fail/leave-without-token", func(t *testing.T) {
		if resp, m := f.do(t, "DELETE", machineapi.PathDeviceRegistration+"/"+second.DeviceID, "", nil); resp.StatusCode != 401 {
			t.Fatalf("got %d %v, want 401", resp.StatusCode, m)
		}
	})
	t.Run("ok/leave", func(t *testing.T) {
		resp, m := f.do(t, "DELETE", machineapi.PathDeviceRegistration+"/"+second.DeviceID+"?api-version=2.0", f.tok1, nil)
		if resp.StatusCode != 204 {
			t.Fatalf("leave: %d %v", resp.StatusCode, m)
		}
		if _, err := f.Store.GetDeviceByDeviceID(t.Context(), f.tid, second.DeviceID); err == nil {
			t.Fatal("the device is still there after leaving")
		}
		if got := f.vmDeviceID(t, f.withID); got != "" {
			t.Fatalf("the VM still records device %q", got)
		}
		if got := f.vmDeviceID(t, f.vm3Path); got != other.DeviceID {
			t.Fatalf("the other VM's device id changed to %q", got)
		}
	})
}

func TestDeviceRegistrationReachability(t *testing.T) {
	f := newTestEnv(t)
	for _, path := range []string{"/EnrollmentServer/", "/EnrollmentServer", machineapi.PathDeviceRegistration + "/"} {
		t.Run("ok/404"+path, func(t *testing.T) {
			resp, m := f.do(t, "GET", path, "", nil)
			if resp.StatusCode != 404 || errorCode(m) == "" {
				t.Fatalf("GET %s: %d %v, want 404 with a JSON error", path, resp.StatusCode, m)
			}
		})
	}
}

// FuzzParseDeviceJoinRequest: no panic; whatever is accepted names a GUID tenant, JoinType 4,
// a printable display name, and a P-256 or RSA key.
func FuzzParseDeviceJoinRequest(f *testing.F) {
	f.Add([]byte(`{"CertificateRequest":{"Type":"pkcs10","Data":"` + csr(f, elliptic.P256()) +
		`"},"DeviceDisplayName":"vm1","DeviceType":"Linux","OSVersion":"12","TargetDomain":"` + uuid.NewString() + `","JoinType":4}`))
	f.Add([]byte(`{"CertificateRequest":{"Type":"pkcs10","Data":"MAA="},"JoinType":4}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, pub, err := httpapi.ParseDeviceJoinRequest(body)
		if err != nil {
			return
		}
		if pub == nil || req.JoinType != 4 || !directory.IsGUID(req.TargetDomain) || strings.TrimSpace(req.DeviceDisplayName) == "" ||
			strings.ContainsAny(req.DeviceDisplayName, "\x00\n\r\x1b") {
			t.Fatalf("accepted %+v", req)
		}
	})
}
