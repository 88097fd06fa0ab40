package openssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrSSHDNotRunning says the configuration is in place but no running sshd could be told to
// read it; the next start of sshd will.
var ErrSSHDNotRunning = errors.New("sshd is not running")

// commandTimeout bounds sshd -t and systemctl: both answer in milliseconds when healthy.
const commandTimeout = 15 * time.Second

// check runs sshd -t -f MainConfig, which reads the drop-in through its Include, and returns
// sshd's own words when it refuses.
func (d DropIn) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, d.SSHD, "-t", "-f", d.MainConfig).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sshd -t refuses the configuration: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// reload tells the running sshd to read its configuration again: the Reload hook when set;
// else systemctl when systemd runs sshd (Debian calls the unit ssh, others sshd); else SIGHUP
// to the pid in PidFile, after checking that pid is an sshd so a stale file cannot make us
// signal another program.
func (d DropIn) reload(ctx context.Context) error {
	if d.Reload != nil {
		return d.Reload(ctx)
	}
	if systemdRuns() {
		for _, unit := range []string{"ssh.service", "sshd.service"} {
			if systemctl(ctx, "is-active", "--quiet", unit) == nil {
				return systemctl(ctx, "reload", unit)
			}
		}
	}
	return hangUp(d.PidFile)
}

func systemdRuns() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

func systemctl(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// ReloadPidFile is a DropIn.Reload that skips systemd and sends SIGHUP to the sshd whose pid
// is in pidFile: for an sshd that systemd does not manage, such as one a test started.
func ReloadPidFile(pidFile string) func(context.Context) error {
	return func(context.Context) error { return hangUp(pidFile) }
}

// hangUp sends SIGHUP to the sshd whose pid is in pidFile.
func hangUp(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w (no %s)", ErrSSHDNotRunning, pidFile)
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("%s does not hold a pid", pidFile)
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "sshd" {
		return fmt.Errorf("%w (pid %d from %s is not an sshd)", ErrSSHDNotRunning, pid, pidFile)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signalling sshd (pid %d): %w", pid, err)
	}
	return nil
}
