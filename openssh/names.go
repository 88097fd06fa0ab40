package openssh

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/latchsh/latch/directory"
)

// LocalName is the local account name of a directory user; see directory.LocalName, where
// the rule lives so that the token service names certificate principals by it too. It
// returns "" when the UPN cannot be a safe account name, and the caller must then refuse.
func LocalName(upn string) string { return directory.LocalName(upn) }

// The UID range of directory users: 2,000,000,000 to 2,099,999,999. Above anything Debian
// or systemd hands out (regular users from 1000, systemd's dynamic users below 65536,
// systemd-nspawn's container ranges below 0x70000000 = 1,879,048,192), below 2^31 so no
// program that keeps a UID in a signed 32-bit integer sees a negative one, and far from
// 65534 (nobody) and 4294967295 ((uid_t)-1).
const (
	UIDBase  = 2_000_000_000
	UIDRange = 100_000_000
)

// UID is the UID (and, as a user private group, the GID) of a directory user, derived from
// the object id alone so it is the same on every machine with no coordination: UIDBase plus
// SHA-256 of the lower-cased object id, modulo UIDRange. It is UIDCandidate(objectID, 0).
//
// Collisions: with 10^8 values, two of 10,000 users share a UID with probability about 40 %,
// so the agent must not assume uniqueness. Before creating an account it looks the UID up;
// when another account holds it, it takes UIDCandidate(objectID, 1), 2, … until one is free,
// and logs that this user's UID differs from the fleet's. Files on shared storage then need
// that user's UID mapped by hand; everything local is consistent.
func UID(objectID string) int { return UIDCandidate(objectID, 0) }

// UIDCandidate is the i-th UID to try for objectID (i ≥ 0), always within the directory
// range; see UID for how collisions use it.
func UIDCandidate(objectID string, i int) int {
	input := strings.ToLower(strings.TrimSpace(objectID))
	if i > 0 {
		input += "#" + strconv.Itoa(i)
	}
	sum := sha256.Sum256([]byte(input))
	return UIDBase + int(binary.BigEndian.Uint64(sum[:8])%UIDRange)
}

// IsDirectoryUID reports whether uid is in the range UID hands out, so the agent can tell
// accounts it manages from local ones.
func IsDirectoryUID(uid int) bool { return uid >= UIDBase && uid < UIDBase+UIDRange }
