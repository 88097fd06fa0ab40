package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// File names inside the configuration directory.
const (
	settingsFile = "config.json"
	profileFile  = "profile.json"
	tokensFile   = "tokens.json"
	lockFile     = ".lock"
)

// settings are the user's preferences (config.json), which latch reads but never writes.
type settings struct {
	Output string `json:"output,omitempty"`
}

// profile is who is signed in where (profile.json). It holds no secrets.
type profile struct {
	Server        string         `json:"server"`
	CAFile        string         `json:"caFile,omitempty"`
	Tenant        string         `json:"tenant"`
	HomeTenantID  string         `json:"homeTenantId"`
	TokenEndpoint string         `json:"tokenEndpoint"`
	User          accountUser    `json:"user"`
	Subscriptions []subscription `json:"subscriptions"`
}

// accountUser is az's "user" object: the signed-in name and whether it is a person.
type accountUser struct {
	Name string `json:"name"`
	Type string `json:"type"` // "user" or "servicePrincipal"
}

// subscription is one entry of the account list, as az keeps it in azureProfile.json.
type subscription struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	State            string `json:"state"`
	TenantID         string `json:"tenantId"`
	HomeTenantID     string `json:"homeTenantId"`
	ManagedByTenants []any  `json:"managedByTenants"`
	IsDefault        bool   `json:"isDefault"`
}

// tokenCache is the secret half of the state (tokens.json).
type tokenCache struct {
	RefreshToken string `json:"refreshToken,omitempty"`
	// ClientSecret is a service principal's secret, kept (as az keeps it) because client
	// credentials give no refresh token: without it every hour would need a new login.
	ClientSecret string                 `json:"clientSecret,omitempty"`
	AccessTokens map[string]cachedToken `json:"accessTokens,omitempty"`
}

// cachedToken is an access token for one tenant and scope.
type cachedToken struct {
	AccessToken string    `json:"accessToken"`
	TokenType   string    `json:"tokenType"`
	ExpiresOn   time.Time `json:"expiresOn"`
}

// errNotLoggedIn is az's message when there is no account.
var errNotLoggedIn = failf("Please run 'latch login' to setup account.")

func loadSettings(dir string) (settings, error) {
	var s settings
	err := readJSONFile(filepath.Join(dir, settingsFile), &s, true)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	return s, err
}

// loadProfile returns errNotLoggedIn when there is no profile.
func loadProfile(dir string) (*profile, error) {
	var p profile
	err := readJSONFile(filepath.Join(dir, profileFile), &p, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotLoggedIn
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func loadTokens(dir string) (*tokenCache, error) {
	var t tokenCache
	err := readJSONFile(filepath.Join(dir, tokensFile), &t, false)
	if errors.Is(err, fs.ErrNotExist) {
		return &tokenCache{}, nil
	}
	return &t, err
}

func saveProfile(dir string, p *profile) error { return writeJSONFile(dir, profileFile, p) }

func saveTokens(dir string, t *tokenCache) error { return writeJSONFile(dir, tokensFile, t) }

// readJSONFile decodes path into v; strict refuses unknown fields, for files people edit.
func readJSONFile(path string, v any, strict bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return failf("%s is damaged (%v); fix or delete it", path, err)
	}
	return nil
}

func writeJSONFile(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, name, append(b, '\n'))
}

// writeFileAtomic replaces dir/name with data so that a reader sees the old or the new file,
// never a part: it writes a temporary file (created 0600, so secrets are never readable by
// others even for a moment) in the same directory, syncs it, and renames it over the old one.
func writeFileAtomic(dir, name string, data []byte) error {
	if err := ensureDir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := writeAndSync(f, data); err != nil {
		return fmt.Errorf("saving %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("saving %s: %w", name, err)
	}
	return syncDir(dir)
}

func writeAndSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes the rename durable; some file systems refuse to sync a directory, which only
// costs durability, so that error is ignored.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	d.Sync()
	return d.Close()
}

// ensureDir creates the configuration directory 0700, since it holds tokens. An existing
// directory is left as it is: $LATCH_CONFIG_DIR may point anywhere, and the files themselves
// are 0600.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return nil
}

// removeState deletes the profile and the tokens (logout).
func removeState(dir string) error {
	for _, name := range []string{tokensFile, profileFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
