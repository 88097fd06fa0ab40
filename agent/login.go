package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/openssh"
)

// Defaults of LoginOptions.
const (
	DefaultSocketPath  = "/run/latch-agent/decide.sock"
	DefaultAdminGroup  = "latch-admins"
	DefaultSudoersPath = "/etc/sudoers.d/latch-admins"
)

// Files in the state directory the login extension keeps.
const (
	loginCacheFile  = "login-cache.json"
	dropInStateFile = "openssh-originals.json"
)

// confirmSaveEvery bounds how often Confirm writes the cache: a 304 arrives every long-poll
// and the time to live is minutes, so losing a few seconds of it in a crash costs nothing.
const confirmSaveEvery = 5 * time.Second

// LoginOptions say how the machine lets directory users in. Zero fields take defaults.
type LoginOptions struct {
	StateDir string // "" for DefaultStateDir
	// SSHD is the drop-in's settings (paths, sshd binary, reload); Apply fills in CAKeys and
	// Command. Its StatePath defaults to openssh-originals.json in StateDir.
	SSHD openssh.DropIn
	// Command is the principals command without sshd's tokens; default the running binary's
	// absolute path, "agent", "principals" (and --socket when SocketPath is not the default).
	Command     []string
	SocketPath  string // the decision socket; DefaultSocketPath
	AdminGroup  string // DefaultAdminGroup
	SudoersPath string // DefaultSudoersPath
	// Client ships login events to the control plane; nil keeps them spooled.
	Client *Client
	Logger *slog.Logger
	Now    func() time.Time
	// NoSyslog leaves log/syslog out even when /dev/log exists (tests).
	NoSyslog bool
}

// Login is the machine's LoginSetup: it installs the sshd drop-in, keeps the cached login
// rules, manages the directory users' local accounts, decides logins for the principals
// command and keeps the audit log of every decision.
type Login struct {
	o     LoginOptions
	log   *slog.Logger
	now   func() time.Time
	accts *accounts
	audit *auditLog

	// lookupUID and peers replace the account database and the allowed socket peers in tests.
	lookupUID func(name string) (int, error)
	peers     []int

	applyMu sync.Mutex // one Apply, Remove or drift pass at a time: they run useradd & co.
	mu      sync.Mutex // guards cache and saved
	cache   *loginCache
	saved   time.Time
}

var _ LoginSetup = (*Login)(nil)

// NewLogin returns a Login with o's defaults filled in and the cache a previous run left, so
// decisions continue at once after a restart. It fails when the state directory or the cache
// cannot be read.
func NewLogin(o LoginOptions) (*Login, error) {
	const op = "agent.NewLogin"
	o, err := o.withDefaults()
	if err != nil {
		return nil, errs.E(op, errs.Internal, "The agent cannot name its principals command.", err)
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, errs.E(op, errs.Internal, "The agent's state directory cannot be made.", err)
	}
	lg := &Login{o: o, log: o.Logger, now: o.Now}
	lg.accts = &accounts{group: o.AdminGroup, sudoers: o.SudoersPath, log: o.Logger, run: runTool,
		record: filepath.Join(o.StateDir, managedAccountsFile)}
	lg.audit = newAuditLog(filepath.Join(o.StateDir, auditSpoolFile), o.Client, o.Logger, !o.NoSyslog)
	if lg.cache, err = loadCache(filepath.Join(o.StateDir, loginCacheFile)); err != nil {
		return nil, errs.E(op, errs.Internal, "The cached login rules are unreadable.", err)
	}
	return lg, nil
}

func (o LoginOptions) withDefaults() (LoginOptions, error) {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&o.StateDir, DefaultStateDir)
	set(&o.SocketPath, DefaultSocketPath)
	set(&o.AdminGroup, DefaultAdminGroup)
	set(&o.SudoersPath, DefaultSudoersPath)
	set(&o.SSHD.StatePath, filepath.Join(o.StateDir, dropInStateFile))
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return o, err
		}
		if exe, err = filepath.EvalSymlinks(exe); err != nil {
			return o, err
		}
		o.Command = []string{exe, "agent", "principals"}
		if o.SocketPath != DefaultSocketPath {
			o.Command = append(o.Command, "--socket="+o.SocketPath)
		}
	}
	return o, nil
}

// Apply writes the CA keys and installs the drop-in (only when they changed: no rewrite and
// no sshd reload otherwise), keeps l as the rules to decide by, confirmed now, and brings the
// local accounts in line with l.Users.
func (lg *Login) Apply(ctx context.Context, st State, l *machineapi.Login) error {
	const op = "agent.Login.Apply"
	if l == nil {
		return errs.E(op, errs.Invalid, "The goal state has no login rules to apply.")
	}
	keys, err := parseCAKeys(l.CAKeys)
	if err != nil {
		return errs.E(op, errs.Invalid, "The tenant's SSH CA keys in the goal state do not parse.", err)
	}
	lg.applyMu.Lock()
	defer lg.applyMu.Unlock()
	sum, err := lg.installDropIn(ctx, keys)
	if err != nil {
		// The words of sshd -t or of the failed write are what an administrator needs to act.
		return errs.E(op, errs.Internal, "sshd could not be configured for directory logins: "+err.Error(), err)
	}
	c := &loginCache{Login: *l, ConfirmedAt: lg.now().UTC(), ResourceID: st.ResourceID, TenantID: st.TenantID, DropInSum: sum}
	if err := lg.setCache(c); err != nil {
		return errs.E(op, errs.Internal, "The login rules could not be kept on disk.", err)
	}
	if err := lg.accts.reconcile(ctx, l.Users); err != nil {
		return errs.E(op, errs.Internal, "The directory users' local accounts could not be set up: "+err.Error(), err)
	}
	return nil
}

// installDropIn installs the drop-in for keys unless the one installed was made from the
// same settings and is still in place. It returns the settings' sum.
func (lg *Login) installDropIn(ctx context.Context, keys []ssh.PublicKey) (string, error) {
	d := lg.dropIn(keys)
	sum := dropInSum(d)
	if c := lg.snapshot(); c != nil && c.DropInSum == sum && lg.dropInInPlace(d) {
		return sum, nil
	}
	err := d.Install(ctx)
	if errors.Is(err, openssh.ErrSSHDNotRunning) {
		lg.log.Warn("sshd is configured for directory logins but not running; it will read the configuration when it starts", "error", err)
		err = nil
	}
	return sum, err
}

func (lg *Login) dropIn(keys []ssh.PublicKey) openssh.DropIn {
	d := lg.o.SSHD
	d.CAKeys, d.Command = keys, lg.o.Command
	return d
}

// dropInInPlace reports whether the drop-in file and the record of the originals exist:
// someone deleting either means the next Apply installs again.
func (lg *Login) dropInInPlace(d openssh.DropIn) bool {
	path := d.Path
	if path == "" {
		path = openssh.DefaultDropInPath
	}
	_, err1 := os.Stat(path)
	_, err2 := os.Stat(d.StatePath)
	return err1 == nil && err2 == nil
}

// dropInSum is a digest of everything the drop-in is made from.
func dropInSum(d openssh.DropIn) string {
	h := sha256.New()
	for _, k := range d.CAKeys {
		h.Write(ssh.MarshalAuthorizedKey(k))
	}
	fmt.Fprintf(h, "%q %q %q %q %q %q %q", d.Command, d.Path, d.MainConfig, d.CAKeysPath, d.NoPrincipalsPath, d.CommandUser, d.MatchUsers)
	return hex.EncodeToString(h.Sum(nil))
}

func parseCAKeys(lines []string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for _, line := range lines {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no CA key")
	}
	return keys, nil
}

// Confirm moves the cache's confirmation to t; it writes the cache at most every
// confirmSaveEvery. Without a cache it does nothing: there is nothing to confirm.
func (lg *Login) Confirm(t time.Time) error {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	if lg.cache == nil {
		return nil
	}
	c := *lg.cache
	c.ConfirmedAt = t.UTC()
	lg.cache = &c
	if t.Sub(lg.saved) < confirmSaveEvery {
		return nil
	}
	return lg.saveLocked()
}

// Remove restores sshd's configuration byte for byte, deletes the sudoers drop-in, takes
// every directory account out of the admin group, locks the directory accounts and forgets
// the cache. Homes and accounts are kept: the users' files stay owned by a known UID rather
// than by a number a later account could inherit, and enabling the extension again unlocks
// them. It is safe to call twice.
func (lg *Login) Remove(ctx context.Context) error {
	const op = "agent.Login.Remove"
	lg.applyMu.Lock()
	defer lg.applyMu.Unlock()
	var problems []error
	if err := lg.o.SSHD.Remove(ctx); err != nil && !errors.Is(err, openssh.ErrSSHDNotRunning) {
		problems = append(problems, err)
	}
	problems = append(problems, lg.accts.removeAll(ctx))
	if err := lg.setCache(nil); err != nil {
		problems = append(problems, err)
	}
	if err := errors.Join(problems...); err != nil {
		return errs.E(op, errs.Internal, "Directory logins could not be fully removed from this machine.", err)
	}
	return nil
}

// snapshot is the current cache; callers must not modify it.
func (lg *Login) snapshot() *loginCache {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return lg.cache
}

// setCache replaces the cache and writes it, or deletes the file for nil.
func (lg *Login) setCache(c *loginCache) error {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	lg.cache = c
	if c == nil {
		err := os.Remove(lg.cachePath())
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return err
	}
	return lg.saveLocked()
}

func (lg *Login) saveLocked() error {
	b, err := json.MarshalIndent(lg.cache, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(lg.cachePath(), append(b, '\n'), 0o600); err != nil {
		return err
	}
	lg.saved = lg.now()
	return nil
}

func (lg *Login) cachePath() string { return filepath.Join(lg.o.StateDir, loginCacheFile) }

// loadCache reads the cache a previous run wrote, or nil when there is none.
func loadCache(path string) (*loginCache, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c loginCache
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// driftInterval is how often the admin group is checked for members added by hand.
const driftInterval = 2 * time.Second

// Run serves the decision socket, undoes manual changes to the admin group and ships the
// audit log until ctx ends. It fails at once when the socket cannot be opened.
func (lg *Login) Run(ctx context.Context) error {
	ln, err := listenDecisions(lg.o.SocketPath)
	if err != nil {
		return errs.E("agent.Login.Run", errs.Internal, "The login decision socket cannot be opened.", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); lg.driftLoop(ctx) }()
	go func() { defer wg.Done(); lg.audit.shipLoop(ctx) }()
	err = lg.serveDecisions(ctx, ln)
	wg.Wait()
	return err
}

// driftLoop runs driftOnce every driftInterval until ctx ends.
func (lg *Login) driftLoop(ctx context.Context) {
	t := time.NewTicker(driftInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			lg.driftOnce(ctx)
		}
	}
}

// driftOnce takes out of the admin group every directory account the cached Login does not
// name as an Admin.
func (lg *Login) driftOnce(ctx context.Context) {
	c := lg.snapshot()
	if c == nil {
		return
	}
	lg.applyMu.Lock()
	defer lg.applyMu.Unlock()
	if err := lg.accts.syncAdmins(ctx, c.Login.Users); err != nil && ctx.Err() == nil {
		lg.log.Warn("checking the admin group failed", "group", lg.o.AdminGroup, "error", err)
	}
}
