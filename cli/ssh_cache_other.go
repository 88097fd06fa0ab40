//go:build !unix

package cli

import "os"

// oNoFollow: no such flag here; sshReuse is off instead.
const oNoFollow = 0

// sshReuse is off where a file's owner cannot be read: each command issues a new
// certificate, as before reuse existed.
const sshReuse = false

// checkFileOwner cannot tell a file's owner here; writing a new key only needs the
// directory Latch just created.
func checkFileOwner(path string, fi os.FileInfo) error { return nil }
