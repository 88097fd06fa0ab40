package openssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Install writes the CA keys file, an empty principals file and the drop-in, adds an Include of the drop-in to the main
// configuration if it has none that covers it, checks the result with sshd -t, and reloads
// sshd. Before changing any file it records the file's original bytes, mode and owner (or its
// absence) in StatePath; a second Install (a CA rotation) keeps the first record, so Remove
// always returns to the configuration before Latch. If sshd -t refuses the result, every file
// is put back as it was before this call and the error carries sshd's words. When the files
// are in place but no running sshd could be told, it returns an error wrapping
// ErrSSHDNotRunning: the next sshd start reads them.
func (d DropIn) Install(ctx context.Context) error {
	d = d.withDefaults()
	if err := d.validate(); err != nil {
		return err
	}
	if err := checkCommandPath(d.Command[0]); err != nil {
		return err
	}
	writes, err := d.plannedWrites()
	if err != nil {
		return err
	}
	st, stateExisted, err := loadState(d.StatePath)
	if err != nil {
		return err
	}
	before, err := st.recordAll(writes)
	if err != nil {
		return err
	}
	if err := saveState(d.StatePath, st); err != nil {
		return err
	}
	if err := applyAll(writes); err != nil {
		return d.rollback(before, stateExisted, err)
	}
	if err := d.check(ctx); err != nil {
		return d.rollback(before, stateExisted, err)
	}
	return d.reload(ctx)
}

// Remove puts back every file Install changed, byte for byte with its mode and owner, removes
// the files and directories Install created, forgets the record, checks the restored
// configuration and reloads sshd. Without a record it does nothing and returns nil, so it is
// safe to call twice. A restored configuration that sshd -t refuses is reported, not changed:
// it is the machine's own.
func (d DropIn) Remove(ctx context.Context) error {
	d = d.withDefaults()
	st, existed, err := loadState(d.StatePath)
	if err != nil || !existed {
		return err
	}
	if err := restoreAll(st); err != nil {
		return fmt.Errorf("restoring sshd's configuration: %w", err)
	}
	if err := os.Remove(d.StatePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := d.check(ctx); err != nil {
		return fmt.Errorf("the restored configuration: %w", err)
	}
	return d.reload(ctx)
}

// checkCommandPath applies sshd's rule for the principals command before sshd does: sshd
// only logs "Unsafe AuthorizedPrincipalsCommand" at each login and refuses it, which would
// lock every directory user out with nothing said at install time.
func checkCommandPath(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("the principals command: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("the principals command %s is not an executable file", path)
	}
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Uid != 0 || fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("sshd will not run the principals command: %s must be owned by root and not writable by group or others", p)
		}
		if p == "/" {
			return nil
		}
	}
}

// fileWrite is one file Install writes.
type fileWrite struct {
	path    string
	content []byte
	mode    fs.FileMode
}

// plannedWrites is what Install will write, the main configuration only when it needs an
// Include.
func (d DropIn) plannedWrites() ([]fileWrite, error) {
	main, err := os.ReadFile(d.MainConfig)
	if err != nil {
		return nil, fmt.Errorf("reading sshd's configuration: %w", err)
	}
	writes := []fileWrite{{d.CAKeysPath, d.renderCAKeys(), 0o644}, {d.NoPrincipalsPath, nil, 0o644},
		{d.Path, d.render(), 0o644}}
	if !includesEarly(main, d.Path) {
		fi, err := os.Stat(d.MainConfig)
		if err != nil {
			return nil, err
		}
		writes = append(writes, fileWrite{d.MainConfig, withInclude(main, d.Path), fi.Mode().Perm()})
	}
	return writes, nil
}

// rollback puts the files back as they were before this Install and returns cause.
func (d DropIn) rollback(before *state, stateExisted bool, cause error) error {
	if err := restoreAll(before); err != nil {
		return fmt.Errorf("%w; and putting the files back failed: %v", cause, err)
	}
	if !stateExisted {
		_ = os.Remove(d.StatePath)
	}
	return cause
}

// includesEarly reports whether an Include before the first Match line of main covers path.
// sshd reads relative Include paths from /etc/ssh.
func includesEarly(main []byte, path string) bool {
	for _, line := range strings.Split(string(main), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToLower(f[0]) {
		case "match":
			return false
		case "include":
			for _, g := range f[1:] {
				if !filepath.IsAbs(g) {
					g = filepath.Join("/etc/ssh", g)
				}
				if ok, _ := filepath.Match(g, path); ok {
					return true
				}
			}
		}
	}
	return false
}

// withInclude puts an Include of path on the first line of main, where it is read before any
// other setting (sshd keeps the first value it sees) and outside any Match block.
func withInclude(main []byte, path string) []byte {
	var b bytes.Buffer
	b.WriteString("Include " + path + " # added by the Latch login extension\n")
	b.Write(main)
	return b.Bytes()
}
