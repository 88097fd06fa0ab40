package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// connectedDir is a state directory as connect leaves it, for a control plane that is not
// running: status and doctor read only local files and the local metadata service.
func connectedDir(t *testing.T) string {
	dir := t.TempDir()
	st := `{"server":"https://127.0.0.1:1","machineId":"m1","tenantId":"t1","resourceId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1","audience":"a"}`
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(st), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runAgentCommand runs "latch agent args..." and returns its output and error.
func runAgentCommand(args ...string) (string, error) {
	cmd := newAgentCommand()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	return out.String(), err
}

func TestAgentStatusCommand(t *testing.T) {
	t.Run("fail/not-connected", func(t *testing.T) {
		if _, err := runAgentCommand("status", "--state-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "latch agent connect") {
			t.Fatalf("status of an empty directory: %v", err)
		}
	})
	t.Run("ok/not-joined", func(t *testing.T) {
		out, err := runAgentCommand("status", "--state-dir", connectedDir(t))
		if err != nil || !strings.Contains(out, "DirectoryJoined : NO") || !strings.Contains(out, "MachineId : m1") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
}

func TestAgentDoctorCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	t.Run("fail/no-metadata-service", func(t *testing.T) {
		out, err := runAgentCommand("doctor", "--state-dir", connectedDir(t), "--imds-addr", closed)
		if err == nil || !strings.Contains(err.Error(), "checks failed") || !strings.Contains(out, "FAIL IMDS instance") ||
			!strings.Contains(out, "fix: The agent's metadata service does not answer on "+closed) {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	t.Run("fail/bad-endpoints-file", func(t *testing.T) {
		dir := connectedDir(t)
		os.WriteFile(filepath.Join(dir, "ep.json"), []byte(`{"registraton":"https://x"}`), 0o600)
		out, err := runAgentCommand("doctor", "--state-dir", dir, "--imds-addr", closed, "--endpoints", filepath.Join(dir, "ep.json"))
		if err == nil || !strings.Contains(out, "FAIL endpoints") || !strings.Contains(out, "registraton") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
}
