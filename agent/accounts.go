package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/openssh"
)

// Directory users get local accounts made with the system's own tools (groupadd, useradd,
// usermod, gpasswd, visudo), never by editing /etc/passwd: the tools take the locks, keep
// shadow and gshadow consistent and run the distribution's hooks. Only accounts whose UID is
// in openssh's directory range are ever changed; every other local account (break-glass
// admins, service accounts) is left exactly as it is.

// toolTimeout bounds one run of useradd & co.; they take milliseconds unless a lock is stuck.
const toolTimeout = 30 * time.Second

// maxUIDCandidates is how far down openssh.UIDCandidate the agent looks for a free UID.
const maxUIDCandidates = 1000

// accounts manages the directory users' local accounts and the admin group.
type accounts struct {
	group   string // the admin group, whose members sudo
	sudoers string // the sudoers drop-in for the group
	log     *slog.Logger
	run     func(ctx context.Context, argv ...string) ([]byte, error)
	granted map[string]bool // admins this agent added, so their removal is not called manual
	// record, when set, is the file keeping the names of the accounts this agent manages;
	// "" keeps them in memory only.
	record  string
	managed map[string]bool // nil until loaded
}

// runTool runs argv and returns its standard output; a failure carries its stderr. The
// shadow tools give up at once when another program holds /etc/passwd's or /etc/group's lock
// ("cannot lock …; try again later"), so those runs are tried again a few times.
func runTool(ctx context.Context, argv ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err == nil {
			return out, nil
		}
		if attempt < 10 && bytes.Contains(stderr.Bytes(), []byte("try again later")) && ctx.Err() == nil {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
			continue
		}
		return out, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
}

// reconcile makes an account for every user, unlocks the ones that return, locks the
// directory accounts no longer in users, and sets the admin group and its sudo rule.
func (a *accounts) reconcile(ctx context.Context, users []machineapi.LoginUser) error {
	if err := a.ensureGroup(ctx); err != nil {
		return err
	}
	if err := a.remember(users); err != nil {
		return err
	}
	var problems []error
	for _, u := range users {
		problems = append(problems, a.ensureAccount(ctx, u))
	}
	problems = append(problems, a.lockOthers(ctx, users), a.syncAdmins(ctx, users), a.writeSudoers(ctx))
	return errors.Join(problems...)
}

// ensureGroup creates the admin group as a system group when it is missing.
func (a *accounts) ensureGroup(ctx context.Context) error {
	if _, ok, err := a.groupEntry(ctx, a.group); err != nil || ok {
		return err
	}
	_, err := a.run(ctx, "groupadd", "--system", a.group)
	return err
}

// ensureAccount creates u's account, or reuses and unlocks the directory account of that
// name. An ordinary local account that has the name is not touched: it is someone's.
func (a *accounts) ensureAccount(ctx context.Context, u machineapi.LoginUser) error {
	name := u.LocalName
	if name == "" || openssh.LocalName(u.UserPrincipalName) != name {
		a.log.Warn("directory user skipped: the local name does not follow from the user principal name",
			"upn", u.UserPrincipalName, "localName", name)
		return nil
	}
	pw, ok, err := a.passwdEntry(ctx, name)
	if err != nil {
		return err
	}
	if ok {
		if !openssh.IsDirectoryUID(pw.UID) {
			a.log.Warn("a local account that is not a directory account has this user's name; left alone, so the user cannot log in here",
				"account", name, "uid", pw.UID)
			return nil
		}
		if !uidBelongs(u.ObjectID, pw.UID) {
			// The name came back with another person (a UPN reassigned): the files are not theirs.
			a.log.Warn("the directory account of this name belongs to another directory user; left locked, so this user cannot log in here until it is renamed or removed",
				"account", name, "uid", pw.UID, "objectId", u.ObjectID)
			return nil
		}
		return a.unlock(ctx, name)
	}
	return a.create(ctx, u)
}

// create makes the user-private group and the account with the first free directory UID.
func (a *accounts) create(ctx context.Context, u machineapi.LoginUser) error {
	uid, err := a.freeUID(ctx, u.ObjectID)
	if err != nil {
		return err
	}
	if uid != openssh.UID(u.ObjectID) {
		a.log.Warn("this user's UID differs from the one the fleet uses: another account holds it; map it by hand on shared storage",
			"account", u.LocalName, "uid", uid, "fleetUID", openssh.UID(u.ObjectID))
	}
	id := strconv.Itoa(uid)
	if _, err := a.run(ctx, "groupadd", "-g", id, u.LocalName); err != nil {
		return err
	}
	_, err = a.run(ctx, "useradd", "-u", id, "-g", id, "-m", "-d", "/home/"+u.LocalName, "-s", "/bin/bash",
		"-c", gecos(u), "-p", "*", u.LocalName)
	if err == nil {
		a.log.Info("local account created for a directory user", "account", u.LocalName, "uid", uid, "objectId", u.ObjectID)
	}
	return err
}

// freeUID is the first openssh.UIDCandidate of objectID that no account and no group holds.
func (a *accounts) freeUID(ctx context.Context, objectID string) (int, error) {
	for i := range maxUIDCandidates {
		c := openssh.UIDCandidate(objectID, i)
		_, takenU, err := a.getent(ctx, "passwd", strconv.Itoa(c))
		if err != nil {
			return 0, err
		}
		_, takenG, err := a.getent(ctx, "group", strconv.Itoa(c))
		if err != nil {
			return 0, err
		}
		if !takenU && !takenG {
			return c, nil
		}
	}
	return 0, fmt.Errorf("no free UID for object id %s among %d candidates", objectID, maxUIDCandidates)
}

// uidBelongs reports whether uid is one of the UIDs this agent would give objectID, so an
// account made for one directory user is never handed to another who later has its name.
func uidBelongs(objectID string, uid int) bool {
	for i := range maxUIDCandidates {
		if openssh.UIDCandidate(objectID, i) == uid {
			return true
		}
	}
	return false
}

// gecos is the account's comment: the display name, else the UPN, without the characters
// that separate passwd fields or GECOS subfields.
func gecos(u machineapi.LoginUser) string {
	s := orUnknown(u.DisplayName, u.UserPrincipalName)
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == ':' || r == ',' || r == '=' {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// unlock undoes lock when the account is locked.
func (a *accounts) unlock(ctx context.Context, name string) error {
	locked, err := a.isLocked(ctx, name)
	if err != nil || !locked {
		return err
	}
	if _, err := a.run(ctx, "usermod", "-U", "-e", "", name); err != nil {
		return err
	}
	a.log.Info("directory account unlocked: the user may log in again", "account", name)
	return nil
}

// lock makes the account unusable (password locked and the account expired, which PAM
// refuses for every way in) and keeps its files.
func (a *accounts) lock(ctx context.Context, name string) error {
	locked, err := a.isLocked(ctx, name)
	if err != nil || locked {
		return err
	}
	if _, err := a.run(ctx, "usermod", "-L", "-e", "1", name); err != nil {
		return err
	}
	a.log.Info("directory account locked: the user no longer holds a login role here", "account", name)
	return nil
}

func (a *accounts) isLocked(ctx context.Context, name string) (bool, error) {
	line, ok, err := a.getent(ctx, "shadow", name)
	if err != nil || !ok {
		return false, err
	}
	return shadowLocked(line), nil
}

// lockOthers locks every account this agent manages that is not among users. Directory
// accounts it never managed (another agent's, made by hand) are not its to lock.
func (a *accounts) lockOthers(ctx context.Context, users []machineapi.LoginUser) error {
	names, err := a.managedNames()
	if err != nil {
		return err
	}
	var problems []error
	for _, name := range names {
		if slices.ContainsFunc(users, func(u machineapi.LoginUser) bool { return u.LocalName == name }) {
			continue
		}
		if a.isDirectoryAccount(ctx, name) {
			problems = append(problems, a.lock(ctx, name))
		}
	}
	return errors.Join(problems...)
}

// syncAdmins makes the admin group's directory members exactly the Admin users. Members that
// are not directory accounts are never touched.
func (a *accounts) syncAdmins(ctx context.Context, users []machineapi.LoginUser) error {
	g, ok, err := a.groupEntry(ctx, a.group)
	if err != nil || !ok {
		return err
	}
	var problems []error
	for _, u := range users {
		if u.Admin && !slices.Contains(g.Members, u.LocalName) && a.isDirectoryAccount(ctx, u.LocalName) {
			problems = append(problems, a.addAdmin(ctx, u.LocalName))
		}
	}
	for _, m := range g.Members {
		isAdmin := slices.ContainsFunc(users, func(u machineapi.LoginUser) bool { return u.Admin && u.LocalName == m })
		if !isAdmin && a.isDirectoryAccount(ctx, m) {
			problems = append(problems, a.removeAdmin(ctx, m))
		}
	}
	return errors.Join(problems...)
}

func (a *accounts) addAdmin(ctx context.Context, name string) error {
	if _, err := a.run(ctx, "gpasswd", "-a", name, a.group); err != nil {
		return err
	}
	if a.granted == nil {
		a.granted = map[string]bool{}
	}
	a.granted[name] = true
	a.log.Info("directory user made an administrator", "account", name, "group", a.group)
	return nil
}

func (a *accounts) removeAdmin(ctx context.Context, name string) error {
	if _, err := a.run(ctx, "gpasswd", "-d", name, a.group); err != nil {
		return err
	}
	if a.granted[name] {
		delete(a.granted, name)
		a.log.Info("directory user no longer an administrator: the Virtual Machine Administrator Login role is gone", "account", name, "group", a.group)
		return nil
	}
	a.log.Warn(name+" was added to "+a.group+" by hand; removed: administrator rights come from the Virtual Machine Administrator Login role",
		"account", name, "group", a.group)
	return nil
}

func (a *accounts) isDirectoryAccount(ctx context.Context, name string) bool {
	pw, ok, err := a.passwdEntry(ctx, name)
	return err == nil && ok && openssh.IsDirectoryUID(pw.UID)
}

// removeAll undoes what reconcile set up except the accounts themselves, which are locked.
func (a *accounts) removeAll(ctx context.Context) error {
	var problems []error
	if err := os.Remove(a.sudoers); err != nil && !errors.Is(err, fs.ErrNotExist) {
		problems = append(problems, err)
	}
	problems = append(problems, a.syncAdmins(ctx, nil), a.lockOthers(ctx, nil))
	return errors.Join(problems...)
}

// sudoersRule lets the admin group run everything as anyone. NOPASSWD because directory
// users have no local password to type: they authenticated to the directory, and the
// Administrator Login role is what makes them admins here.
func (a *accounts) sudoersRule() []byte {
	return []byte("# Written by the Latch login extension: members of " + a.group + " hold the\n" +
		"# Virtual Machine Administrator Login role. Removing the extension removes this file.\n" +
		"%" + a.group + " ALL=(ALL:ALL) NOPASSWD: ALL\n")
}

// writeSudoers puts the rule in place unless it is there already; visudo checks it first, so
// a bad file never reaches sudo (which would refuse every rule, root's included).
func (a *accounts) writeSudoers(ctx context.Context) error {
	want := a.sudoersRule()
	if have, err := os.ReadFile(a.sudoers); err == nil && bytes.Equal(have, want) {
		return nil
	}
	// sudo skips files in sudoers.d whose names contain a dot, so the temporary is never read.
	tmp := filepath.Join(filepath.Dir(a.sudoers), "."+filepath.Base(a.sudoers)+".tmp")
	defer os.Remove(tmp)
	if err := os.WriteFile(tmp, want, 0o440); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o440); err != nil {
		return err
	}
	if _, err := a.run(ctx, "visudo", "-cf", tmp); err != nil {
		return err
	}
	return os.Rename(tmp, a.sudoers)
}
