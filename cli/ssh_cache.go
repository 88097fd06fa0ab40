package cli

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Reuse of SSH certificates. Issuing a certificate is a round trip to the token service, which
// checks the person's roles and Conditional Access each time; a login needs none of that from
// the client when it still holds a certificate for the same machine and account. So each
// (server, tenant, account, VM) has a slot in <config dir>/ssh holding the last key, its
// certificate, the VM's pinned host keys and a record of whom and what they were issued for,
// and the ssh commands reuse them while the certificate stays valid for sshReuseMargin more.
// Reuse extends nobody's access: the certificate lives minutes, and the machine asks its
// agent at every login whether the person still holds a login role and meets Conditional
// Access (decisions the agent has cached are pushed to it within seconds of a change).
//
// The key never leaves the slot. A slot is used only when its directory is 0700 and its files
// 0600, all owned by the user running the command and none a symbolic link; anything else,
// and any record that does not match, makes the command issue a new certificate, which
// rewrites the files. 'latch logout' deletes every slot.

// sshReuseMargin is how much longer a cached certificate must stay valid to be reused, so it
// does not expire between this command and sshd's check of it.
const sshReuseMargin = 60 * time.Second

// sshKeysDir holds the slots, under the configuration directory.
const sshKeysDir = "ssh"

// sshRecordName is the slot's record, written last on issuance so that a half-written slot
// is never reused.
const sshRecordName = "latch-ssh.json"

// maxSSHCacheFile bounds what is read from a slot: its files are a key, a certificate, a few
// host keys and a short record.
const maxSSHCacheFile = 64 << 10

// sshRecord says for whom and which VM a slot's certificate was issued, and what the token
// service said of the VM's SSH server with it.
type sshRecord struct {
	Server        string   `json:"server"`
	Tenant        string   `json:"tenant"`
	Account       string   `json:"account"`
	VMID          string   `json:"vmId"`
	HostKeys      []string `json:"hostKeys,omitempty"`
	HostAddresses []string `json:"hostAddresses,omitempty"`
}

// sameIssue reports whether r and o name the same server, tenant, account and VM. The VM id
// compares exactly, case included: the host keys are pinned under the name as typed.
func (r sshRecord) sameIssue(o sshRecord) bool {
	return r.Server == o.Server && r.Tenant == o.Tenant && r.Account == o.Account && r.VMID == o.VMID
}

// sshSlot is one (server, tenant, account, VM)'s place in the configuration directory.
type sshSlot struct {
	dir  string
	want sshRecord // who is asking now, for which VM; its host fields are unused
}

// sshSlotFor is the slot of the signed-in account for vmID, named rg/name-<hash> so a person
// can tell the VM, while other accounts and subscriptions get slots of their own.
func (s *session) sshSlotFor(rg, name, vmID string) sshSlot {
	want := sshRecord{Server: s.prof.Server, Tenant: s.prof.Tenant, Account: s.prof.User.Name, VMID: vmID}
	sum := sha256.Sum256([]byte(strings.Join([]string{want.Server, want.Tenant, want.Account, vmID}, "\n")))
	dir := filepath.Join(s.dir, sshKeysDir, strings.ToLower(rg), strings.ToLower(name)+"-"+hex.EncodeToString(sum[:6]))
	return sshSlot{dir: dir, want: want}
}

// load returns the slot's credential when it may be reused at now; otherwise the error says
// why not (for --debug), and the caller issues a new one.
func (sl sshSlot) load(now time.Time) (*sshCredential, error) {
	if !sshReuse {
		return nil, errors.New("certificates are not reused on this system")
	}
	if err := checkPrivateDir(sl.dir); err != nil {
		return nil, err
	}
	var rec sshRecord
	if b, err := readPrivateFile(filepath.Join(sl.dir, sshRecordName)); err != nil {
		return nil, err
	} else if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("the record is damaged: %w", err)
	}
	if !rec.sameIssue(sl.want) {
		return nil, errors.New("the certificate was issued for another account or VM")
	}
	cert, err := sl.loadCert(now)
	if err != nil {
		return nil, err
	}
	cred := &sshCredential{PrivateKeyFile: filepath.Join(sl.dir, sshKeyName), CertificateFile: filepath.Join(sl.dir, sshKeyName+"-cert.pub"),
		Principals: cert.ValidPrincipals, ValidBefore: validBefore(cert), VMID: rec.VMID, cert: cert, addresses: rec.HostAddresses,
		slotDir: sl.dir}
	if len(rec.HostKeys) > 0 {
		cred.KnownHostsFile = filepath.Join(sl.dir, knownHostsName)
		if _, err := readPrivateFile(cred.KnownHostsFile); err != nil {
			return nil, err
		}
	}
	return cred, nil
}

// loadCert reads the slot's certificate and key and checks that the certificate is a user
// certificate for that key, valid at now and for sshReuseMargin more.
func (sl sshSlot) loadCert(now time.Time) (*ssh.Certificate, error) {
	b, err := readPrivateFile(filepath.Join(sl.dir, sshKeyName+"-cert.pub"))
	if err != nil {
		return nil, err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	cert, ok := k.(*ssh.Certificate)
	if err != nil || !ok || cert.CertType != ssh.UserCert || len(cert.ValidPrincipals) == 0 {
		return nil, errors.New("the certificate file is not a user certificate")
	}
	if now.Unix() < int64(cert.ValidAfter) || cert.ValidBefore >= 1<<63 ||
		!now.Add(sshReuseMargin).Before(time.Unix(int64(cert.ValidBefore), 0)) {
		return nil, errors.New("the certificate has expired or expires within a minute")
	}
	b, err = readPrivateFile(filepath.Join(sl.dir, sshKeyName))
	if err != nil {
		return nil, err
	}
	raw, err := ssh.ParseRawPrivateKey(b)
	priv, ok := raw.(*ed25519.PrivateKey)
	if err != nil || !ok {
		return nil, errors.New("the key file is not an Ed25519 key")
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil || string(pub.Marshal()) != string(cert.Key.Marshal()) {
		return nil, errors.New("the certificate is not for the key beside it")
	}
	return cert, nil
}

// save writes a newly issued key and certificate to the slot with the VM's host, and returns
// the credential. The old record goes first and the new one last: a slot interrupted in
// between has no record and is not reused.
func (sl sshSlot) save(priv ed25519.PrivateKey, cert *ssh.Certificate, host sshHost) (*sshCredential, error) {
	if err := preparePrivateDir(sl.dir); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(sl.dir, sshRecordName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, failf("cannot replace the cached SSH certificate: %v", err)
	}
	cred, err := writeSSHCredential(sl.dir, priv, cert, sl.want.VMID)
	if err != nil {
		return nil, err
	}
	cred.slotDir = sl.dir
	rec := sl.want
	for _, k := range host.keys {
		rec.HostKeys = append(rec.HostKeys, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))))
	}
	rec.HostAddresses = host.addresses
	if err := cred.pinHost(sl.want.vmName(), host); err != nil {
		return nil, err
	}
	return cred, writeJSONFile(sl.dir, sshRecordName, rec)
}

// forget makes the credential's slot not reused again (its record goes; a new issuance
// rewrites the rest). A credential without a slot is left alone.
func (c *sshCredential) forget() {
	if c.slotDir != "" {
		os.Remove(filepath.Join(c.slotDir, sshRecordName))
	}
}

// vmName is the last segment of the record's VM id.
func (r sshRecord) vmName() string { return r.VMID[strings.LastIndex(r.VMID, "/")+1:] }

// preparePrivateDir creates dir 0700, or makes an existing one of the user's 0700; it refuses
// a directory someone else owns or a symbolic link, which a private key must not be put in.
func preparePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return failf("cannot create %s: %v", dir, err)
	}
	if err := checkOwner(dir, true); err != nil {
		return failf("%s cannot hold an SSH key: %v", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return failf("cannot make %s private: %v", dir, err)
	}
	return nil
}

// checkPrivateDir accepts a directory of the user's that only the user can read and enter.
func checkPrivateDir(dir string) error {
	if err := checkOwner(dir, true); err != nil {
		return err
	}
	fi, _ := os.Lstat(dir)
	if fi.Mode().Perm() != 0o700 {
		return fmt.Errorf("%s has mode %v, not 0700", dir, fi.Mode().Perm())
	}
	return nil
}

// checkOwner accepts path when it is a directory (dir true) or a regular file, not a symbolic
// link, owned by the user running the command.
func checkOwner(path string, dir bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	return checkInfo(path, fi, dir)
}

func checkInfo(path string, fi os.FileInfo, dir bool) error {
	if dir && !fi.IsDir() || !dir && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a plain %s", path, map[bool]string{true: "directory", false: "file"}[dir])
	}
	return checkFileOwner(path, fi)
}

// readPrivateFile reads path when it is a regular file of the user's with mode 0600 (checked
// on the open file, so a file swapped in between is not read), up to maxSSHCacheFile bytes.
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkInfo(path, fi, false); err != nil {
		return nil, err
	}
	if fi.Mode().Perm() != 0o600 {
		return nil, fmt.Errorf("%s has mode %v, not 0600", path, fi.Mode().Perm())
	}
	return io.ReadAll(io.LimitReader(f, maxSSHCacheFile))
}

// removeSSHKeys deletes every cached key, certificate and pin (logout).
func removeSSHKeys(dir string) error {
	if err := os.RemoveAll(filepath.Join(dir, sshKeysDir)); err != nil {
		return failf("cannot remove the SSH keys in %s: %v", filepath.Join(dir, sshKeysDir), err)
	}
	return nil
}

// validBefore is the certificate's end of validity as the credential shows it.
func validBefore(cert *ssh.Certificate) string {
	return time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339)
}
