package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAgentConnectTPMFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"fail/require-without-tpm", []string{"--tpm", "require", "--tpm-device", "/nonexistent/tpmrm0"}, "--tpm require: no working TPM at /nonexistent/tpmrm0"},
		{"fail/require-simulator-down", []string{"--tpm", "require", "--tpm-simulator", "127.0.0.1:1"}, "no working TPM at tcp:127.0.0.1:1"},
		{"fail/unknown-mode", []string{"--tpm", "yes"}, `--tpm "yes": want auto, require or off`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			args := append([]string{"connect", "--server", "https://127.0.0.1:1", "--token", "t", "--state-dir", dir}, tt.args...)
			if out, err := runAgentCommand(args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("connect %v: %v, want %q\n%s", tt.args, err, tt.want, out)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("a refused connect left %s behind", dir)
			}
		})
	}
	t.Run("ok/auto-without-tpm-tries-the-server", func(t *testing.T) {
		out, err := runAgentCommand("connect", "--server", "https://127.0.0.1:1", "--token", "t", "--state-dir", t.TempDir(),
			"--tpm-device", "/nonexistent/tpmrm0")
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "TPM") {
			t.Fatalf("connect with auto and no TPM: %v\n%s", err, out)
		}
	})
}
