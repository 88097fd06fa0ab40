package agent

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/latchsh/latch/imds"
)

// Version is the agent's version, reported to the control plane.
var Version = "0.1.0"

// DefaultIMDSAddr is the loopback address the metadata service always listens on.
const DefaultIMDSAddr = "127.0.0.1:40342"

// statusInterval is how often the agent reports; the control plane shows a machine as
// disconnected when it has not heard from it for a few intervals.
const statusInterval = time.Minute

// RunOptions say how to serve.
type RunOptions struct {
	StateDir string // "" for DefaultStateDir
	IMDSAddr string // loopback address; "" for DefaultIMDSAddr
	// LinkLocal also serves 169.254.169.254:80 when the address can be bound.
	LinkLocal bool
	// SSHDConfig is the sshd configuration whose host keys the status reports; "" for the
	// system's.
	SSHDConfig string
	Logger     *slog.Logger
	// Ready, when set, is called with the metadata service and its loopback address once
	// it listens (tests and the service manager's notification).
	Ready func(s *imds.Server, addr string)
	// Login configures OpenSSH for the login extension; nil makes that extension fail with
	// "this agent was started without login configuration".
	Login LoginSetup
	// EndpointsFile overrides endpoints of the goal state; "" reads endpoints.json in the
	// state directory when it exists.
	EndpointsFile string
	// GoalStateWait is how long one long-poll waits; 0 for DefaultGoalStateWait.
	GoalStateWait time.Duration
}

// withDefaults fills the options left zero.
func (o RunOptions) withDefaults() RunOptions {
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.IMDSAddr == "" {
		o.IMDSAddr = DefaultIMDSAddr
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Run serves the metadata service for the connected machine and reports its status until
// ctx ends.
func Run(ctx context.Context, o RunOptions) error {
	o = o.withDefaults()
	st, key, err := Load(o.StateDir)
	if err != nil {
		return err
	}
	c, err := NewClient(st, key, nil)
	if err != nil {
		return err
	}
	return Serve(ctx, c, o)
}

// Serve is Run with a client already made: it serves the metadata service, reports the
// machine's status and follows the goal state (see Follower) until ctx ends. It fails before
// serving when the endpoints override or the saved progress cannot be read.
func Serve(ctx context.Context, c *Client, o RunOptions) error {
	o = o.withDefaults()
	override, err := LoadEndpointOverride(o.StateDir, o.EndpointsFile)
	if err != nil {
		return err
	}
	srv := imds.New(NewSource(c), imds.Config{Logger: o.Logger})
	lns, err := listeners(srv, o)
	if err != nil {
		return err
	}
	addr := lns[0].Addr().String()
	f, err := NewFollower(c, FollowerOptions{StateDir: o.StateDir, Login: o.Login, IMDSURL: "http://" + addr,
		Endpoints: override, Wait: o.GoalStateWait, Logger: o.Logger})
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return err
	}
	if o.Ready != nil {
		o.Ready(srv, addr)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.sshdConfig, c.stateDir = o.SSHDConfig, o.StateDir
	go c.reportLoop(ctx, o.Logger)
	followed := make(chan struct{})
	go func() { f.Run(ctx); close(followed) }()
	err = srv.Serve(ctx, lns...)
	cancel()
	<-followed
	return err
}

// listeners opens the loopback listener, and the link-local one when asked and possible.
func listeners(srv *imds.Server, o RunOptions) ([]net.Listener, error) {
	lo, err := srv.ListenLoopback(o.IMDSAddr)
	if err != nil {
		return nil, err
	}
	lns := []net.Listener{lo}
	if o.LinkLocal {
		if ll, err := srv.ListenLinkLocal(); err == nil {
			lns = append(lns, ll)
		} else {
			o.Logger.Warn("serving the metadata service on loopback only", "error", err)
		}
	}
	return lns, nil
}

// reportLoop reports the machine's status now and every statusInterval until ctx ends.
func (c *Client) reportLoop(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(statusInterval)
	defer t.Stop()
	for {
		if err := c.ReportStatus(ctx); err != nil && ctx.Err() == nil {
			log.Warn("status report failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ReportStatus tells the control plane what this machine is.
func (c *Client) ReportStatus(ctx context.Context) error {
	host, _ := os.Hostname()
	body := map[string]any{"osType": runtime.GOOS, "osVersion": osVersion(), "hostname": host,
		"addresses": addresses(), "agentVersion": Version, "hostKeys": HostKeys(c.sshdConfig), "health": c.health()}
	return c.call(ctx, http.MethodPut, "/machines/status", body, nil)
}

// Health is the agent's own verdict on itself, reported with its status: Healthy, or
// Unhealthy with the last error of each step that failed within healthWindow.
type Health struct {
	Status   string   `json:"status"`
	Problems []string `json:"problems,omitempty"`
}

// healthWindow is how long a step's error keeps the machine unhealthy: a few goal-state
// waits, so a passing outage clears by itself while a persisting one keeps recurring.
const healthWindow = 10 * time.Minute

// health reads the step errors the goal-state follower keeps in the state directory (only
// those: the full status would also run the key sign tests, a TPM operation each).
func (c *Client) health() Health {
	if c.stateDir == "" {
		return Health{Status: "Healthy"}
	}
	p, err := loadProgress(c.stateDir)
	if err != nil {
		return Health{Status: "Unhealthy", Problems: []string{"state: " + err.Error()}}
	}
	h := Health{Status: "Healthy"}
	for step, e := range p.Errors {
		if time.Since(e.At) < healthWindow {
			h.Problems = append(h.Problems, step+": "+e.Message)
		}
	}
	if len(h.Problems) > 0 {
		slices.Sort(h.Problems)
		h.Status = "Unhealthy"
	}
	return h
}

// osVersion is PRETTY_NAME from os-release, or "" when unknown.
func osVersion() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// addresses are the machine's unicast addresses, loopback left out.
func addresses() []string {
	addrs, _ := net.InterfaceAddrs()
	var out []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			out = append(out, n.IP.String())
		}
	}
	return out
}
