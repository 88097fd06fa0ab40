package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// machineKey is a machine's P-256 key pair and the public half as the connect call sends it.
type machineKey struct {
	priv *ecdsa.PrivateKey
	pub  string
}

func newMachineKey(t *testing.T) machineKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return machineKey{priv: k, pub: base64.RawURLEncoding.EncodeToString(der)}
}

// proof signs a machine proof with claims; header defaults to ES256.
func (k machineKey) proof(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	if header == nil {
		header = map[string]any{"alg": "ES256", "typ": "JWT"}
	}
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return "MachineProof " + in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// machineFixture is a VM with a system-assigned identity, one without, and onboarding tokens.
type machineFixture struct {
	*armFixture
	withID, withoutID string // VM paths
	principalID       string
}

func newMachineFixture(t *testing.T) *machineFixture {
	f := &machineFixture{armFixture: newARMFixture(t)}
	f.mkRG(t, "rg1")
	f.withID, f.withoutID = f.vmPath("rg1", "vm1"), f.vmPath("rg1", "vm2")
	resp, m := f.do(t, "PUT", f.withID+apiVM, f.adminTok, vmBody("westus", true))
	if resp.StatusCode != 201 {
		t.Fatalf("create VM: %d %v", resp.StatusCode, m)
	}
	f.principalID = m["identity"].(map[string]any)["principalId"].(string)
	if resp, m := f.do(t, "PUT", f.withoutID+apiVM, f.adminTok, vmBody("westus", false)); resp.StatusCode != 201 {
		t.Fatalf("create VM: %d %v", resp.StatusCode, m)
	}
	return f
}

// onboard asks for an onboarding token for the VM at path.
func (f *machineFixture) onboard(t *testing.T, path string) string {
	t.Helper()
	resp, m := f.do(t, "POST", path+"/generateOnboardingToken"+apiVM, f.adminTok, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("generateOnboardingToken: %d %v", resp.StatusCode, m)
	}
	return m["token"].(string)
}

// connect onboards a new machine as the VM at path and returns its key and id.
func (f *machineFixture) connect(t *testing.T, path string) (machineKey, string, string) {
	t.Helper()
	k := newMachineKey(t)
	resp, m := f.do(t, "POST", "/machines/connect", "", map[string]any{"token": f.onboard(t, path), "publicKey": k.pub})
	if resp.StatusCode != 201 {
		t.Fatalf("connect: %d %v", resp.StatusCode, m)
	}
	return k, m["machineId"].(string), m["tenantId"].(string)
}

// claims are valid proof claims for the machine, to be changed by a case.
func (f *machineFixture) claims(id, tid string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": id, "sub": id, "tid": tid, "aud": f.URL + "/machines", "iat": now, "exp": now + 60, "jti": uuid.NewString()}
}

func (f *machineFixture) machineDo(t *testing.T, method, path, proof string, body any) (int, map[string]any) {
	t.Helper()
	resp, m := f.doWithHeader(t, method, path, "", body, "Authorization", proof)
	return resp.StatusCode, m
}

func TestMachineConnectRefusals(t *testing.T) {
	f := newMachineFixture(t)
	k := newMachineKey(t)
	used := f.onboard(t, f.withID)
	if resp, m := f.do(t, "POST", "/machines/connect", "", map[string]any{"token": used, "publicKey": k.pub}); resp.StatusCode != 201 {
		t.Fatalf("first connect: %d %v", resp.StatusCode, m)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	cases := []struct {
		name, token, key, code string
		status                 int
	}{
		{"fail/reused-token", used, k.pub, "invalid_grant", 409},
		{"fail/unknown-token", f.Tenant.ID + ".bm90LWEtdG9rZW4", k.pub, "invalid_grant", 404},
		{"fail/token-without-tenant", "garbage", k.pub, "invalid_grant", 401},
		{"fail/p384-key", f.onboard(t, f.withID), base64.RawURLEncoding.EncodeToString(der384), "InvalidPublicKey", 400},
		{"fail/no-key", f.onboard(t, f.withID), "", "InvalidPublicKey", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := f.do(t, "POST", "/machines/connect", "", map[string]any{"token": c.token, "publicKey": c.key})
			if resp.StatusCode != c.status || errorCode(m) != c.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, m, c.status, c.code)
			}
		})
	}
}

func TestMachineConnectExpiredToken(t *testing.T) {
	f := newMachineFixture(t)
	tok := f.onboard(t, f.withID)
	f.API.Now = func() time.Time { return time.Now().Add(time.Hour + time.Second) }
	resp, m := f.do(t, "POST", "/machines/connect", "", map[string]any{"token": tok, "publicKey": newMachineKey(t).pub})
	if resp.StatusCode < 400 || errorCode(m) != "invalid_grant" {
		t.Fatalf("an expired onboarding token gave %d %v", resp.StatusCode, m)
	}
}

func TestOnboardingTokenNeedsWriteOnVM(t *testing.T) {
	f := newMachineFixture(t)
	resp, m := f.do(t, "POST", f.withID+"/generateOnboardingToken"+apiVM, f.aliceTok, nil)
	if resp.StatusCode != 403 {
		t.Fatalf("a user without rights on the VM got %d %v", resp.StatusCode, m)
	}
	resp, m = f.do(t, "POST", f.vmPath("rg1", "ghost")+"/generateOnboardingToken"+apiVM, f.adminTok, nil)
	if resp.StatusCode != 404 {
		t.Fatalf("a missing VM gave %d %v", resp.StatusCode, m)
	}
}

func TestMachineProofRefusals(t *testing.T) {
	f := newMachineFixture(t)
	k, id, tid := f.connect(t, f.withID)
	replayed := k.proof(t, nil, f.claims(id, tid))
	if st, m := f.machineDo(t, "PUT", "/machines/status", replayed, map[string]any{"hostname": "vm1"}); st != 204 {
		t.Fatalf("first use of a proof: %d %v", st, m)
	}
	with := func(key string, v any) map[string]any { c := f.claims(id, tid); c[key] = v; return c }
	now := time.Now().Unix()
	cases := []struct{ name, proof string }{
		{"fail/replayed", replayed},
		{"fail/forged-key", newMachineKey(t).proof(t, nil, f.claims(id, tid))},
		{"fail/expired", k.proof(t, nil, with("exp", now-1))},
		{"fail/lives-too-long", k.proof(t, nil, with("exp", now+3600))},
		{"fail/future-iat", k.proof(t, nil, with("iat", now+600))},
		{"fail/other-audience", k.proof(t, nil, with("aud", f.URL+"/arm/"))},
		{"fail/other-tenant", k.proof(t, nil, with("tid", uuid.NewString()))},
		{"fail/alg-none", k.proof(t, map[string]any{"alg": "none"}, f.claims(id, tid))},
		{"fail/jku-header", k.proof(t, map[string]any{"alg": "ES256", "jku": "https://evil"}, f.claims(id, tid))},
		{"fail/extra-claim", k.proof(t, nil, with("roles", "admin"))},
		{"fail/bearer-scheme", "Bearer " + strings.TrimPrefix(k.proof(t, nil, f.claims(id, tid)), "MachineProof ")},
		{"fail/none", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, m := f.machineDo(t, "POST", "/machines/token", c.proof, map[string]any{"resource": f.ARMAudience()})
			if st != 401 || errorCode(m) != "InvalidMachineProof" {
				t.Fatalf("got %d %v, want 401 InvalidMachineProof", st, m)
			}
		})
	}
}

func TestMachineToken(t *testing.T) {
	f := newMachineFixture(t)
	k, id, tid := f.connect(t, f.withID)
	t.Run("ok/oid-is-principal-id", func(t *testing.T) {
		st, m := f.machineDo(t, "POST", "/machines/token", k.proof(t, nil, f.claims(id, tid)), map[string]any{"resource": f.ARMAudience()})
		if st != 200 {
			t.Fatalf("token: %d %v", st, m)
		}
		claims := jwtPayload(t, m["access_token"].(string))
		if claims["oid"] != f.principalID || claims["aud"] != f.ARMAudience() || claims["tid"] != tid || m["object_id"] != f.principalID {
			t.Fatalf("token claims %v, want oid %s", claims, f.principalID)
		}
	})
	t.Run("ok/self-names-the-identity", func(t *testing.T) {
		st, m := f.machineDo(t, "GET", "/machines/self", k.proof(t, nil, f.claims(id, tid)), nil)
		ident, _ := m["identity"].(map[string]any)
		compute, _ := m["compute"].(map[string]any)
		if st != 200 || ident["principalId"] != f.principalID || ident["clientId"] == "" || compute["location"] != "westus" || compute["vmSize"] != "Standard_DS1_v2" {
			t.Fatalf("self: %d %v", st, m)
		}
	})
	t.Run("fail/unknown-resource", func(t *testing.T) {
		st, m := f.machineDo(t, "POST", "/machines/token", k.proof(t, nil, f.claims(id, tid)), map[string]any{"resource": "https://nothing.example"})
		if st != 400 || errorCode(m) != "invalid_resource" {
			t.Fatalf("got %d %v, want 400 invalid_resource", st, m)
		}
	})
	t.Run("fail/vm-without-identity", func(t *testing.T) {
		k2, id2, _ := f.connect(t, f.withoutID)
		st, m := f.machineDo(t, "POST", "/machines/token", k2.proof(t, nil, f.claims(id2, tid)), map[string]any{"resource": f.ARMAudience()})
		if st != 400 || errorCode(m) != "identity_not_found" {
			t.Fatalf("got %d %v, want 400 identity_not_found", st, m)
		}
		st, m = f.machineDo(t, "GET", "/machines/self", k2.proof(t, nil, f.claims(id2, tid)), nil)
		if st != 200 || m["identity"] != nil {
			t.Fatalf("self of a VM without identity: %d %v", st, m)
		}
	})
	t.Run("fail/identity-removed", func(t *testing.T) {
		body := vmBody("westus", false)
		body["identity"] = map[string]any{"type": "None"}
		if resp, m := f.do(t, "PUT", f.withID+apiVM, f.adminTok, body); resp.StatusCode != 200 {
			t.Fatalf("remove identity: %d %v", resp.StatusCode, m)
		}
		st, m := f.machineDo(t, "POST", "/machines/token", k.proof(t, nil, f.claims(id, tid)), map[string]any{"resource": f.ARMAudience()})
		if st != 400 || errorCode(m) != "identity_not_found" {
			t.Fatalf("got %d %v, want 400 identity_not_found", st, m)
		}
	})
}

func TestMachineStatusRecorded(t *testing.T) {
	f := newMachineFixture(t)
	k, id, tid := f.connect(t, f.withID)
	body := map[string]any{"osType": "Linux", "osVersion": "Debian 12", "hostname": "vm1", "addresses": []string{"10.0.0.4"}, "agentVersion": "0.1",
		"health": map[string]any{"status": "Unhealthy", "problems": []string{"device: cannot reach the registration endpoint"}}}
	if st, m := f.machineDo(t, "PUT", "/machines/status", k.proof(t, nil, f.claims(id, tid)), body); st != 204 {
		t.Fatalf("status: %d %v", st, m)
	}
	m, err := f.Store.GetMachine(t.Context(), tid, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status.Hostname != "vm1" || m.Status.OSVersion != "Debian 12" || len(m.Status.Addresses) != 1 || m.LastSeen.IsZero() {
		t.Fatalf("recorded %+v", m)
	}
	if got := f.vmMachine(t); got["status"] != "Connected" || got["hostname"] != "vm1" || got["agentVersion"] != "0.1" {
		t.Fatalf("vm show: machine %v", got)
	}
	if h, _ := f.vmMachine(t)["health"].(map[string]any); h["status"] != "Unhealthy" || len(h["problems"].([]any)) != 1 {
		t.Fatalf("vm show: health %v", h)
	}
	body["health"] = map[string]any{"status": "fine, trust me", "problems": make([]string, 20)}
	if st, m := f.machineDo(t, "PUT", "/machines/status", k.proof(t, nil, f.claims(id, tid)), body); st != 204 {
		t.Fatalf("status: %d %v", st, m)
	}
	if h, _ := f.vmMachine(t)["health"].(map[string]any); h["status"] != "Unhealthy" || len(h["problems"].([]any)) != 8 {
		t.Fatalf("fail/unknown-health-status: health %v, want Unhealthy with at most 8 problems", h)
	}
	f.API.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	if got := f.vmMachine(t); got["status"] != "Disconnected" {
		t.Fatalf("vm show ten minutes after the last report: machine %v", got)
	}
}

// vmMachine is properties.machine of the VM with an identity, as "vm show" reads it.
func (f *machineFixture) vmMachine(t *testing.T) map[string]any {
	t.Helper()
	resp, vm := f.do(t, "GET", f.withID+apiVM, f.adminTok, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("get VM: %d %v", resp.StatusCode, vm)
	}
	m, _ := vm["properties"].(map[string]any)["machine"].(map[string]any)
	return m
}

// jwtPayload decodes a JWT's claims without verifying it.
func jwtPayload(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
