package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/latchsh/latch/errs"
)

// Argon2id cost for new hashes: OWASP's minimum (19 MiB, two passes, one lane). Stored
// hashes carry their own parameters, so raising these later needs no migration.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds on parameters read back from a stored hash, so a tampered row cannot make one
// check allocate gigabytes or run for minutes.
const (
	maxArgonMemory  = 256 * 1024
	maxArgonTime    = 16
	maxArgonThreads = 16
)

// MaxPasswordLen caps what is hashed; longer input is refused rather than processed.
const MaxPasswordLen = 1024

// HashPassword returns pw hashed with argon2id in the PHC string format
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (unpadded standard base64). It refuses an
// empty or over-long password with Invalid; length and strength policy belong to the caller.
func HashPassword(pw string) (string, error) {
	const op = "authn.HashPassword"
	if pw == "" || len(pw) > MaxPasswordLen {
		return "", errs.E(op, errs.Invalid, fmt.Sprintf("The password must be between 1 and %d bytes long.", MaxPasswordLen))
	}
	return hashArgon2id([]byte(pw))
}

func hashArgon2id(secret []byte) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", errs.E("authn.hash", errs.Internal, err)
	}
	p := argonParams{memory: argonMemory, time: argonTime, threads: argonThreads, salt: salt}
	p.hash = argon2.IDKey(secret, salt, p.time, p.memory, p.threads, argonKeyLen)
	return p.String(), nil
}

// CheckPassword reports whether pw matches hash, comparing in constant time. A malformed or
// out-of-bounds hash is an Internal error (the stored value is at fault, not the user); a
// wrong password is (false, nil).
func CheckPassword(hash, pw string) (bool, error) {
	if len(pw) > MaxPasswordLen {
		return false, nil
	}
	return checkArgon2id(hash, []byte(pw))
}

func checkArgon2id(encoded string, secret []byte) (bool, error) {
	p, err := parseArgon2id(encoded)
	if err != nil {
		return false, errs.E("authn.checkArgon2id", errs.Internal, err)
	}
	got := argon2.IDKey(secret, p.salt, p.time, p.memory, p.threads, uint32(len(p.hash)))
	return subtle.ConstantTimeCompare(got, p.hash) == 1, nil
}

type argonParams struct {
	memory, time uint32
	threads      uint8
	salt, hash   []byte
}

func (p argonParams) String() string {
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b.EncodeToString(p.salt), b.EncodeToString(p.hash))
}

// parseArgon2id reads a PHC argon2id string and checks its parameters are within bounds.
func parseArgon2id(s string) (argonParams, error) {
	var p argonParams
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, errors.New("not an argon2id v19 hash")
	}
	var threads uint32
	if n, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil || n != 3 || fmt.Sprintf("m=%d,t=%d,p=%d", p.memory, p.time, threads) != f[3] {
		return p, errors.New("bad argon2id parameters")
	}
	if p.memory < 8*threads || p.memory > maxArgonMemory || p.time < 1 || p.time > maxArgonTime || threads < 1 || threads > maxArgonThreads {
		return p, errors.New("argon2id parameters out of bounds")
	}
	p.threads = uint8(threads)
	var err1, err2 error
	p.salt, err1 = base64.RawStdEncoding.DecodeString(f[4])
	p.hash, err2 = base64.RawStdEncoding.DecodeString(f[5])
	if err1 != nil || err2 != nil || len(p.salt) < 8 || len(p.salt) > 64 || len(p.hash) < 16 || len(p.hash) > 64 {
		return p, errors.New("bad argon2id salt or hash")
	}
	return p, nil
}
