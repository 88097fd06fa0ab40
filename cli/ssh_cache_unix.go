//go:build unix

package cli

import (
	"fmt"
	"os"
	"syscall"
)

// oNoFollow makes opening a cached file fail when it is a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// sshReuse: cached certificates are reused where their files' owner can be checked.
const sshReuse = true

// checkFileOwner accepts a file owned by the user running the command.
func checkFileOwner(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("the owner of %s cannot be read", path)
	}
	if int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to user %d, not to you", path, st.Uid)
	}
	return nil
}
