package agent

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"

	"github.com/latchsh/latch/openssh"
)

// getent answers from the system's account databases (NSS), as every login program reads
// them.

// passwdLine is one passwd entry.
type passwdLine struct {
	Name string
	UID  int
	GID  int
	Home string
}

// groupLine is one group entry.
type groupLine struct {
	Name    string
	GID     int
	Members []string
}

// getent runs getent db key and returns its first line; ok is false when there is no entry
// (getent's exit status 2).
func (a *accounts) getent(ctx context.Context, db, key string) (string, bool, error) {
	out, err := a.run(ctx, "getent", db, key)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line, line != "", nil
}

func (a *accounts) passwdEntry(ctx context.Context, name string) (passwdLine, bool, error) {
	line, ok, err := a.getent(ctx, "passwd", name)
	if err != nil || !ok {
		return passwdLine{}, false, err
	}
	pw, ok := parsePasswdLine(line)
	return pw, ok && pw.Name == name, nil
}

func (a *accounts) groupEntry(ctx context.Context, name string) (groupLine, bool, error) {
	line, ok, err := a.getent(ctx, "group", name)
	if err != nil || !ok {
		return groupLine{}, false, err
	}
	g, ok := parseGroupLine(line)
	return g, ok && g.Name == name, nil
}

// directoryAccounts lists every account with a directory UID.
func (a *accounts) directoryAccounts(ctx context.Context) ([]passwdLine, error) {
	out, err := a.run(ctx, "getent", "passwd")
	if err != nil {
		return nil, err
	}
	var list []passwdLine
	for line := range strings.Lines(string(out)) {
		if pw, ok := parsePasswdLine(strings.TrimRight(line, "\n")); ok && openssh.IsDirectoryUID(pw.UID) {
			list = append(list, pw)
		}
	}
	return list, nil
}

// parsePasswdLine reads "name:x:uid:gid:gecos:home:shell".
func parsePasswdLine(line string) (passwdLine, bool) {
	f := strings.Split(line, ":")
	if len(f) != 7 || f[0] == "" {
		return passwdLine{}, false
	}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return passwdLine{}, false
	}
	return passwdLine{Name: f[0], UID: uid, GID: gid, Home: f[5]}, true
}

// parseGroupLine reads "name:x:gid:member,member".
func parseGroupLine(line string) (groupLine, bool) {
	f := strings.Split(line, ":")
	if len(f) != 4 || f[0] == "" {
		return groupLine{}, false
	}
	gid, err := strconv.Atoi(f[2])
	if err != nil || gid < 0 {
		return groupLine{}, false
	}
	g := groupLine{Name: f[0], GID: gid}
	for _, m := range strings.Split(f[3], ",") {
		if m != "" {
			g.Members = append(g.Members, m)
		}
	}
	return g, true
}

// shadowLocked reads "name:password:lastchg:min:max:warn:inactive:expire:" and reports
// whether the account is locked the way lock leaves it: the password starts with '!' or the
// account expired on day 1 (or any day, as expiry is what PAM refuses).
func shadowLocked(line string) bool {
	f := strings.Split(line, ":")
	if len(f) < 8 {
		return false
	}
	return strings.HasPrefix(f[1], "!") && f[7] != ""
}
