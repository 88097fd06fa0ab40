package openssh

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// state is what Install recorded: each file as it was before Latch touched it, and the
// directories Install created.
type state struct {
	Version int        `json:"version"`
	Files   []original `json:"files"`
	Dirs    []string   `json:"dirs,omitempty"` // created by Install, deepest last
}

// original is one file as it was: its bytes, mode and owner, or its absence.
type original struct {
	Path    string      `json:"path"`
	Existed bool        `json:"existed"`
	Content []byte      `json:"content,omitempty"`
	Mode    fs.FileMode `json:"mode,omitempty"`
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
}

const stateVersion = 1

// loadState reads the record, or returns an empty one and false when there is none.
func loadState(path string) (*state, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &state{Version: stateVersion}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Version != stateVersion {
		return nil, false, fmt.Errorf("the record of sshd's original configuration (%s) is unreadable; restore it by hand", path)
	}
	return &st, true, nil
}

// saveState writes the record atomically, readable by root only: it holds configuration.
func saveState(path string, st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeAtomic(path, b, 0o600, -1, -1)
}

// recordAll adds each file to st unless it is already recorded, and notes the directories
// the writes will create. It returns the files as they are now, for a rollback of this call.
func (st *state) recordAll(writes []fileWrite) (*state, error) {
	before := &state{Version: stateVersion}
	for _, w := range writes {
		now, err := readOriginal(w.path)
		if err != nil {
			return nil, err
		}
		before.Files = append(before.Files, now)
		if !slices.ContainsFunc(st.Files, func(o original) bool { return o.Path == w.path }) {
			st.Files = append(st.Files, now)
		}
		for _, dir := range missingDirs(filepath.Dir(w.path)) {
			if !slices.Contains(before.Dirs, dir) {
				before.Dirs = append(before.Dirs, dir)
			}
			if !slices.Contains(st.Dirs, dir) {
				st.Dirs = append(st.Dirs, dir)
			}
		}
	}
	return before, nil
}

func readOriginal(path string) (original, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return original{Path: path}, nil
	}
	if err != nil {
		return original{}, err
	}
	if !fi.Mode().IsRegular() {
		return original{}, fmt.Errorf("%s is not a regular file; refusing to replace it", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return original{}, err
	}
	o := original{Path: path, Existed: true, Content: b, Mode: fi.Mode().Perm(), UID: -1, GID: -1}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		o.UID, o.GID = int(sys.Uid), int(sys.Gid)
	}
	return o, nil
}

// missingDirs lists dir and its missing parents, outermost first.
func missingDirs(dir string) []string {
	var out []string
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(dir); err == nil || dir == filepath.Dir(dir) {
			break
		}
		out = append([]string{dir}, out...)
	}
	return out
}

// applyAll writes every file, creating directories 0755 as sshd expects.
func applyAll(writes []fileWrite) error {
	for _, w := range writes {
		if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
			return err
		}
		if err := writeAtomic(w.path, w.content, w.mode, -1, -1); err != nil {
			return err
		}
	}
	return nil
}

// restoreAll puts every recorded file back and removes the recorded directories if empty.
func restoreAll(st *state) error {
	var errs []error
	for _, o := range slices.Backward(st.Files) {
		errs = append(errs, restore(o))
	}
	for _, dir := range slices.Backward(st.Dirs) {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%s was created by Latch but is not empty now; left in place", dir))
		}
	}
	return errors.Join(errs...)
}

func restore(o original) error {
	if !o.Existed {
		if err := os.Remove(o.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeAtomic(o.Path, o.Content, o.Mode, o.UID, o.GID)
}

// writeAtomic replaces path with content through a temporary file in the same directory, so
// sshd never reads half a file, and sets mode and, when uid ≥ 0, the owner.
func writeAtomic(path string, content []byte, mode fs.FileMode, uid, gid int) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	if uid >= 0 {
		if err := os.Chown(tmp, uid, gid); err != nil {
			return err
		}
	}
	return os.Rename(tmp, path)
}
