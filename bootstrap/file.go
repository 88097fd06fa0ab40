package bootstrap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/latchsh/latch/directory"
)

// FileName is the name of the credentials file in the data directory.
const FileName = "bootstrap.json"

// File is the content of bootstrap.json: what the operator needs to reach the new tenant.
type File struct {
	URL            string    `json:"url"`
	TenantID       string    `json:"tenantId"`
	SubscriptionID string    `json:"subscriptionId"`
	CAFile         string    `json:"caFile,omitempty"`
	Owner          OwnerFile `json:"owner"`
	Admin          AdminFile `json:"admin"`
}

// OwnerFile is the owner service principal's client credential.
type OwnerFile struct {
	AppID         string    `json:"appId"`
	Secret        string    `json:"secret"`
	SecretExpires time.Time `json:"secretExpires"`
}

// AdminFile is the first administrator's one-time pass.
type AdminFile struct {
	UserPrincipalName          string    `json:"userPrincipalName"`
	TemporaryAccessPass        string    `json:"temporaryAccessPass"`
	TemporaryAccessPassExpires time.Time `json:"temporaryAccessPassExpires"`
}

func newFileContents(t directory.Tenant, o Options, c creds) File {
	return File{
		URL: o.URL, TenantID: t.ID, SubscriptionID: c.subscriptionID, CAFile: o.CAFile,
		Owner: OwnerFile{AppID: c.ownerAppID, Secret: c.ownerSecret, SecretExpires: c.ownerExpires},
		Admin: AdminFile{UserPrincipalName: c.adminUPN, TemporaryAccessPass: c.adminPass,
			TemporaryAccessPassExpires: c.adminExpires},
	}
}

// ReadFile reads bootstrap.json from dir.
func ReadFile(dir string) (File, error) {
	var f File
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return f, err
	}
	return f, json.Unmarshal(b, &f)
}

// writeFile writes f to dir/bootstrap.json, mode 0600, through a temporary file and a rename so
// that a reader never sees half of it and the secrets are never readable by others, not even
// for a moment.
func writeFile(dir string, f File) (string, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, FileName)
	tmp, err := os.CreateTemp(dir, "."+FileName+".*") // CreateTemp makes it 0600
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(b, '\n'))
	serr := tmp.Sync()
	if err := tmp.Close(); werr != nil || serr != nil || err != nil {
		return "", firstErr(werr, serr, err)
	}
	return path, os.Rename(tmp.Name(), path)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
