package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/testenv"
)

// TestRealAzureCLIIdentityAndExtensionLifecycle drives Debian's az against the control plane
// with a machine onboarded as the VM, played by a small agent in the test that follows the
// goal state: az vm identity remove and assign change the VM's managed identity, az vm
// extension set waits until the machine reports and then shows Succeeded, a failure the
// machine reports fails az, and az vm extension delete waits until the machine has removed
// the extension.
func TestRealAzureCLIIdentityAndExtensionLifecycle(t *testing.T) {
	azPath, err := exec.LookPath("az")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("az is not installed; scripts/install.sh installs Debian's azure-cli")
		}
		t.Skip("az is not installed (scripts/install.sh installs Debian's azure-cli)")
	}
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	az := newAz(t, azPath, srv)
	rg := "/subscriptions/" + srv.Boot.SubscriptionID + "/resourceGroups/rg1"
	vmURL := srv.URL + rg + "/providers/Microsoft.Compute/virtualMachines/vm1"
	az.ok("cloud", "register", "-n", "Latch", "--cloud-config", `{"endpoints":{"resourceManager":"`+srv.URL+`/","microsoftGraphResourceId":"`+srv.URL+`/"}}`)
	az.ok("cloud", "set", "-n", "Latch")
	az.ok("login", "--service-principal", "-u", srv.Boot.Owner.AppID, "-p="+srv.Boot.Owner.Secret, "--tenant", srv.TenantID)
	az.ok("group", "create", "-n", "rg1", "-l", "westus")
	az.ok("rest", "--method", "put", "--url", vmURL+"?api-version=2022-11-01", "--body", vmBody)
	var onboarding struct{ Token string }
	az.json(&onboarding, "rest", "--method", "post", "--url", vmURL+"/generateOnboardingToken?api-version=2022-11-01")
	agent := connectFakeAgent(t, srv, onboarding.Token)
	az.ok("cloud", "update", "--profile", "2020-09-01-hybrid")

	az.ok("vm", "identity", "remove", "-g", "rg1", "-n", "vm1")
	if id := strings.TrimSpace(az.ok("vm", "show", "-g", "rg1", "-n", "vm1", "--query", "identity.principalId", "-o", "tsv")); id != "" {
		t.Errorf("identity after az vm identity remove: %q", id)
	}
	var assigned struct{ SystemAssignedIdentity string }
	az.json(&assigned, "vm", "identity", "assign", "-g", "rg1", "-n", "vm1")
	if len(assigned.SystemAssignedIdentity) != 36 {
		t.Errorf("az vm identity assign: %+v", assigned)
	}

	var ext struct{ ProvisioningState string }
	az.json(&ext, "vm", "extension", "set", "--publisher", "Microsoft.Azure.ActiveDirectory", "-n", "AADSSHLoginForLinux", "-g", "rg1", "--vm-name", "vm1")
	if ext.ProvisioningState != "Succeeded" || agent.reported("AADSSHLoginForLinux") != machineapi.ProvisioningSucceeded {
		t.Errorf("az vm extension set gave %+v; the agent reported %q", ext, agent.reported("AADSSHLoginForLinux"))
	}
	agent.failNext(machineapi.CodeTenantUnavailable, "The tenant could not be read from the metadata service.")
	if _, stderr, err := az.run("vm", "extension", "set", "--publisher", "Microsoft.Azure.ActiveDirectory", "-n", "AADSSHLoginForLinux",
		"-g", "rg1", "--vm-name", "vm1", "--force-update"); err == nil || !strings.Contains(stderr, "VMExtensionProvisioningError") ||
		!strings.Contains(stderr, "The tenant could not be read from the metadata service.") {
		t.Errorf("az vm extension set on a failing machine: %v\n%s", err, stderr)
	}
	if state := strings.TrimSpace(az.ok("vm", "extension", "show", "-g", "rg1", "--vm-name", "vm1", "-n", "AADSSHLoginForLinux",
		"--query", "instanceView.statuses[0].code", "-o", "tsv")); state != "ProvisioningState/failed/1007" {
		t.Errorf("az vm extension show: status %q", state)
	}
	az.ok("vm", "extension", "delete", "-g", "rg1", "--vm-name", "vm1", "-n", "AADSSHLoginForLinux")
	if agent.reported("AADSSHLoginForLinux") != machineapi.ProvisioningDeleted {
		t.Errorf("az vm extension delete returned before the machine removed the extension (%q)", agent.reported("AADSSHLoginForLinux"))
	}
	if _, _, err := az.run("vm", "extension", "show", "-g", "rg1", "--vm-name", "vm1", "-n", "AADSSHLoginForLinux"); err == nil {
		t.Error("the extension is still there after az vm extension delete")
	}
}

// fakeAgent follows the goal state as the real agent does, without applying anything: it
// reports each new generation Succeeded (or the failure it was told to report) and each
// deletion Deleted.
type fakeAgent struct {
	t        *testing.T
	srv      *testenv.Server
	key      *ecdsa.PrivateKey
	id, tid  string
	mu       sync.Mutex
	last     map[string]string // extension → state reported
	done     map[string]string // extension → generation reported
	failCode int
	failMsg  string
}

func connectFakeAgent(t *testing.T, srv *testenv.Server, onboardingToken string) *fakeAgent {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	var m struct{ MachineID, TenantID string }
	a := &fakeAgent{t: t, srv: srv, key: k, last: map[string]string{}, done: map[string]string{}}
	if st := a.call(context.Background(), "POST", "/machines/connect", "", map[string]any{"token": onboardingToken,
		"publicKey": base64.RawURLEncoding.EncodeToString(der)}, &m); st != 201 {
		t.Fatalf("connect: %d", st)
	}
	a.id, a.tid = m.MachineID, m.TenantID
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); a.run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })
	return a
}

func (a *fakeAgent) reported(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last[name]
}

func (a *fakeAgent) failNext(code int, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failCode, a.failMsg = code, msg
}

// run long-polls the goal state until ctx ends.
func (a *fakeAgent) run(ctx context.Context) {
	version := ""
	for ctx.Err() == nil {
		var gs machineapi.GoalState
		st := a.call(ctx, "GET", machineapi.PathGoalState+"?wait=5&version="+version, a.proof(), nil, &gs)
		switch st {
		case 200:
			version = gs.Version
			a.apply(ctx, gs)
		case 304:
		default:
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func (a *fakeAgent) apply(ctx context.Context, gs machineapi.GoalState) {
	for _, e := range gs.Extensions {
		a.mu.Lock()
		key := e.State + "|" + e.Generation
		if a.done[e.Name] == key {
			a.mu.Unlock()
			continue
		}
		st := machineapi.ExtensionStatus{Generation: e.Generation, ProvisioningState: machineapi.ProvisioningSucceeded, Message: "applied"}
		if e.State == machineapi.ExtensionDeleting {
			st.ProvisioningState, st.Message = machineapi.ProvisioningDeleted, "removed"
		} else if a.failCode != 0 {
			st.ProvisioningState, st.Code, st.Message = machineapi.ProvisioningFailed, a.failCode, a.failMsg
			a.failCode = 0
		}
		a.mu.Unlock()
		if code := a.call(ctx, "PUT", machineapi.PathExtensionStatus+"/"+e.Name, a.proof(), st, nil); code == 204 {
			a.mu.Lock()
			a.done[e.Name], a.last[e.Name] = key, st.ProvisioningState
			a.mu.Unlock()
		}
	}
}

// proof is a fresh machine proof (ES256, single use).
func (a *fakeAgent) proof() string {
	now := time.Now().Unix()
	h, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "JWT"})
	c, _ := json.Marshal(map[string]any{"iss": a.id, "sub": a.id, "tid": a.tid, "aud": a.srv.URL + "/machines",
		"iat": now, "exp": now + 60, "jti": uuid.NewString()})
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, a.key, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return "MachineProof " + in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// call sends one request and decodes a JSON answer into out; it returns the status, 0 when
// the request did not complete.
func (a *fakeAgent) call(ctx context.Context, method, path, proof string, body, out any) int {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.srv.URL+path, rd)
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	if proof != "" {
		req.Header.Set("Authorization", proof)
	}
	resp, err := a.srv.Client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
