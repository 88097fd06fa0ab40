package agent

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/latchsh/latch/machineapi"
)

// DefaultStateDir is where the agent keeps its key and state unless told otherwise.
const DefaultStateDir = "/var/lib/latch-agent"

// Files in the state directory.
const (
	stateFile = "state.json"
	keyFile   = "machine-key.pem"
)

// State is what the agent remembers between runs: where the control plane is and who the
// machine is there. It holds no secret; the key is kept apart, readable by its owner only.
type State struct {
	Server     string `json:"server"`           // the control plane's base URL
	CAFile     string `json:"caFile,omitempty"` // extra roots for the control plane's certificate
	MachineID  string `json:"machineId"`
	TenantID   string `json:"tenantId"`
	ResourceID string `json:"resourceId"` // the VM's ARM id
	Audience   string `json:"audience"`   // the aud of the machine's proofs
	// KeyProvider is where the machine's keys are, KeyProviderTPM or KeyProviderSoftware;
	// states saved before TPMs were used have none, which means software.
	KeyProvider string `json:"keyProvider,omitempty"`
	// TPM is the TPM holding the keys: a device path, or tcp:host:port for a simulator.
	TPM string `json:"tpm,omitempty"`
	// KeyNote says why the TPM was not used when Connect was free to use it; not saved.
	KeyNote string `json:"-"`
}

// save writes the state and key into dir, creating it 0700; st.KeyProvider is set from the
// key. The key file is 0600; a TPM key's file holds only what the TPM wrapped.
func save(dir string, st State, key MachineKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("agent: state directory: %w", err)
	}
	st.KeyProvider = providerOf(key)
	b, err := marshalKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, keyFileOf(st.KeyProvider)), b, 0o600); err != nil {
		return err
	}
	b, err = json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, stateFile), append(b, '\n'), 0o600)
}

// writeFile replaces path atomically, so a crash leaves the old file or the new one.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("agent: writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("agent: writing %s: %w", path, err)
	}
	return nil
}

// Load reads the state and key that Connect saved in dir. It fails when the machine was
// never connected or the key file is readable by others. A TPM key is not used here: a TPM
// that stopped working shows when the key signs.
func Load(dir string) (State, MachineKey, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil, fmt.Errorf("agent: this machine is not connected (no %s in %s); run 'latch agent connect' first", stateFile, dir)
	}
	if err != nil {
		return st, nil, fmt.Errorf("agent: reading state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, nil, fmt.Errorf("agent: state file %s is damaged: %w", stateFile, err)
	}
	key, err := loadMachineKey(dir, st)
	return st, key, err
}

// loadKey reads a software key: PKCS#8 PEM in a 0600 file.
func loadKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := readPrivateFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("agent: machine key %s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	ec, ok := k.(*ecdsa.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("agent: machine key %s is not an EC private key", path)
	}
	return ec, nil
}

// progressFile holds what the agent did with the goal state, apart from state.json, which
// only Connect writes.
const progressFile = "goalstate.json"

// Progress is what the agent remembers of the goal state between runs, so that a restart
// neither applies a change twice nor loses one: the version last applied, each extension's
// last finished generation and its final status (kept until the control plane acknowledged
// it), the device the machine joined as, and the last error of each step.
type Progress struct {
	Version     string                      `json:"version"`
	ReceivedAt  time.Time                   `json:"receivedAt,omitzero"`
	LastContact time.Time                   `json:"lastContact,omitzero"`
	Goal        *machineapi.GoalState       `json:"goal,omitempty"`
	Extensions  map[string]*ExtensionRecord `json:"extensions,omitempty"`
	Device      *DeviceRecord               `json:"device,omitempty"`
	Errors      map[string]StepError        `json:"errors,omitempty"`
}

// ExtensionRecord is one extension's last finished run.
type ExtensionRecord struct {
	Publisher string `json:"publisher"`
	Type      string `json:"type"`
	// Done is the generation whose run finished, successfully or not; it is not run again.
	Done string `json:"doneGeneration,omitempty"`
	// Deleted is the generation that was undone after the control plane asked for it.
	Deleted string                     `json:"deletedGeneration,omitempty"`
	Status  machineapi.ExtensionStatus `json:"status"`
	// Pending is set while Status has not been acknowledged by the control plane.
	Pending bool      `json:"pending,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// StepError is the last failure of one step (goal state, tenant, device, login, report...).
type StepError struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// loadProgress reads the progress file in dir; a missing file is an empty Progress.
func loadProgress(dir string) (Progress, error) {
	var p Progress
	b, err := os.ReadFile(filepath.Join(dir, progressFile))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("agent: reading %s: %w", progressFile, err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("agent: %s is damaged: %w", progressFile, err)
	}
	return p, nil
}

// saveProgress replaces the progress file atomically, 0600.
func saveProgress(dir string, p Progress) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, progressFile), append(b, '\n'), 0o600)
}
