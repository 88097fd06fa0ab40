package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/latchsh/latch/agent"
	"github.com/latchsh/latch/imds"
	"github.com/latchsh/latch/testenv"
)

// vmCreated is what "latch vm create" prints that the machine test needs.
type vmCreated struct {
	OnboardingCommand string `json:"onboardingCommand"`
	Identity          struct {
		SystemAssignedIdentity string `json:"systemAssignedIdentity"`
	} `json:"identity"`
}

// connectOptions reads the printed "latch agent connect --server … --token … --ca-file …".
func connectOptions(t *testing.T, command, stateDir string) agent.ConnectOptions {
	t.Helper()
	words := strings.Fields(command)
	if len(words) < 3 || strings.Join(words[:3], " ") != "latch agent connect" {
		t.Fatalf("not an onboarding command: %q", command)
	}
	o := agent.ConnectOptions{StateDir: stateDir}
	for i := 3; i+1 < len(words); i += 2 {
		switch words[i] {
		case "--server":
			o.Server = words[i+1]
		case "--token":
			o.Token = words[i+1]
		case "--ca-file":
			o.CAFile = words[i+1]
		}
	}
	if o.Server == "" || o.Token == "" || o.CAFile == "" {
		t.Fatalf("the onboarding command lacks a flag: %q", command)
	}
	return o
}

// runAgent connects a machine with the onboarding command and serves its metadata service on
// loopback until the test ends; it returns the service, its base URL and the state dir.
func runAgent(t *testing.T, command string) (*imds.Server, string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "latch-agent")
	if _, err := agent.Connect(context.Background(), connectOptions(t, command, dir)); err != nil {
		t.Fatalf("agent connect: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	var srv *imds.Server
	var base string
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.RunOptions{StateDir: dir, IMDSAddr: "127.0.0.1:0", Ready: func(s *imds.Server, addr string) {
			srv, base = s, "http://"+addr
			close(ready)
		}})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not start")
	}
	return srv, base, dir
}

func TestAgentServesManagedIdentity(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	owner := ownerLogin(t, srv)
	owner.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	var vm vmCreated
	owner.ok(&vm, "vm", "create", "-g", "rg1", "-n", "vm1", "--image", "UbuntuLTS", "--assign-identity", "--admin-password", "a-long-Passw0rd!", "--authentication-type", "password")
	imdsSrv, base, dir := runAgent(t, vm.OnboardingCommand)

	t.Run("ok/azidentity-oid-is-principal-id", func(t *testing.T) {
		for _, k := range []string{"IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "AZURE_CLIENT_ID"} {
			t.Setenv(k, "")
		}
		t.Setenv("IDENTITY_ENDPOINT", base+imds.AppServicePath)
		t.Setenv("IDENTITY_HEADER", imdsSrv.IdentityHeader())
		cred, err := azidentity.NewManagedIdentityCredential(nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{srv.URL + "/arm/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		claims := payload(t, tok.Token)
		if claims["oid"] != vm.Identity.SystemAssignedIdentity || claims["tid"] != srv.TenantID || vm.Identity.SystemAssignedIdentity == "" {
			t.Fatalf("token claims %v, want oid %s", claims, vm.Identity.SystemAssignedIdentity)
		}
	})
	t.Run("ok/vm-show-connected", func(t *testing.T) {
		var shown struct { // az flattens properties into the VM
			Machine struct{ Status, AgentVersion string } `json:"machine"`
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			owner.ok(&shown, "vm", "show", "-g", "rg1", "-n", "vm1")
			if shown.Machine.Status == "Connected" || time.Now().After(deadline) {
				break
			}
		}
		if shown.Machine.Status != "Connected" || shown.Machine.AgentVersion != agent.Version {
			t.Fatalf("vm show after the agent reported: %+v", shown.Machine)
		}
	})
	t.Run("ok/instance-metadata", func(t *testing.T) {
		body := imdsGet(t, base+"/metadata/instance?api-version=2021-02-01")
		var inst struct {
			Compute struct{ Location, Name, ResourceID, OSType string }
		}
		if err := json.Unmarshal(body, &inst); err != nil || inst.Compute.Location != "westus" || inst.Compute.Name != "vm1" || inst.Compute.OSType != "Linux" {
			t.Fatalf("/metadata/instance: %s", body)
		}
	})
	t.Run("fail/reused-onboarding-token", func(t *testing.T) {
		o := connectOptions(t, vm.OnboardingCommand, filepath.Join(t.TempDir(), "again"))
		_, err := agent.Connect(context.Background(), o)
		var api *agent.APIError
		if !errors.As(err, &api) || api.Code != "invalid_grant" {
			t.Fatalf("a reused onboarding token gave %v", err)
		}
	})
	t.Run("fail/forged-machine-proof", func(t *testing.T) {
		st, _, err := agent.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		c, err := agent.NewClient(st, other, srv.Client)
		if err != nil {
			t.Fatal(err)
		}
		var api *agent.APIError
		if err := c.ReportStatus(context.Background()); !errors.As(err, &api) || api.Status != 401 {
			t.Fatalf("a proof signed with another key gave %v", err)
		}
	})
}

func TestAgentWithoutIdentity(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	owner := ownerLogin(t, srv)
	owner.ok(nil, "group", "create", "--name", "rg1", "--location", "westus")
	var vm vmCreated
	owner.ok(&vm, "vm", "create", "-g", "rg1", "-n", "plain", "--image", "UbuntuLTS", "--admin-password", "a-long-Passw0rd!", "--authentication-type", "password")
	_, base, _ := runAgent(t, vm.OnboardingCommand)

	q := url.Values{"api-version": {"2018-02-01"}, "resource": {srv.URL + "/arm/"}}
	status, body := imdsDo(t, base+"/metadata/identity/oauth2/token?"+q.Encode())
	if status != 400 || !strings.Contains(string(body), "Identity not found") {
		t.Fatalf("a VM without identity: %d %s", status, body)
	}
}

// imdsDo sends a GET with Metadata: true and returns the status and body.
func imdsDo(t *testing.T, u string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// imdsGet is imdsDo for a request that must succeed.
func imdsGet(t *testing.T, u string) []byte {
	t.Helper()
	status, body := imdsDo(t, u)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", u, status, body)
	}
	return body
}

// payload decodes a JWT's claims without verifying it.
func payload(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("JWT payload unreadable: %v", err)
	}
	return m
}
