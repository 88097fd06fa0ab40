package agent

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// Unit is the systemd unit that runs the agent.
//
//go:embed latch-agent.service
var Unit string

// InstallUnit writes Unit into dir (normally /etc/systemd/system) as latch-agent.service.
// Enabling it is left to systemctl.
func InstallUnit(dir string) (string, error) {
	path := filepath.Join(dir, "latch-agent.service")
	if err := os.WriteFile(path, []byte(Unit), 0o644); err != nil {
		return "", fmt.Errorf("agent: installing the unit: %w", err)
	}
	return path, nil
}
