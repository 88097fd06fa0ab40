package agent

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Status is what "latch agent status" shows, read from the state directory only: the device
// the machine joined as, who the machine is, what it last heard from the control plane and
// the last error of each step. Its text form follows "dsregcmd /status".
type Status struct {
	Device    DeviceStatus         `json:"deviceState"`
	Machine   MachineStatus        `json:"machine"`
	GoalState GoalStateStatus      `json:"goalState"`
	Errors    map[string]StepError `json:"errors"`
}

// DeviceStatus is the "Device State" block.
type DeviceStatus struct {
	DirectoryJoined bool      `json:"directoryJoined"`
	AzureAdJoined   bool      `json:"azureAdJoined"` // the same fact, under Windows' name
	TenantID        string    `json:"tenantId,omitempty"`
	DeviceID        string    `json:"deviceId,omitempty"`
	Thumbprint      string    `json:"thumbprint,omitempty"`
	ValidFrom       time.Time `json:"validFrom,omitzero"`
	ValidTo         time.Time `json:"validTo,omitzero"`
	KeyProvider     string    `json:"keyProvider,omitempty"`
	// KeySignTest is PASSED when the device key signs and its certificate's key verifies.
	KeySignTest string `json:"keySignTest,omitempty"`
}

// MachineStatus is the "Machine" block.
type MachineStatus struct {
	MachineID  string `json:"machineId"`
	ResourceID string `json:"resourceId"`
	Server     string `json:"server"`
	// KeyProvider is where the machine key is: "tpm" or "software".
	KeyProvider string `json:"keyProvider"`
	// KeySignTest is PASSED when the machine key signs and its public half verifies.
	KeySignTest string `json:"keySignTest"`
}

// GoalStateStatus is the "Goal State" block.
type GoalStateStatus struct {
	Version     string            `json:"version,omitempty"`
	ReceivedAt  time.Time         `json:"receivedAt,omitzero"`
	LastContact time.Time         `json:"lastContact,omitzero"`
	Extensions  []ExtensionResult `json:"extensions"`
}

// ExtensionResult is one extension's last result.
type ExtensionResult struct {
	Name              string    `json:"name"`
	Type              string    `json:"type"`
	Generation        string    `json:"generation"`
	ProvisioningState string    `json:"provisioningState"`
	Code              int       `json:"code"`
	Message           string    `json:"message,omitempty"`
	Delivered         bool      `json:"delivered"` // the control plane acknowledged it
	At                time.Time `json:"at,omitzero"`
}

// ReadStatus reads the status from the state directory. It fails only when the machine was
// never connected there or a file is damaged; a machine that never joined shows NO.
func ReadStatus(dir string) (Status, error) {
	var s Status
	st, err := readState(dir)
	if err != nil {
		return s, err
	}
	p, err := loadProgress(dir)
	if err != nil {
		return s, err
	}
	s.Machine = MachineStatus{MachineID: st.MachineID, ResourceID: st.ResourceID, Server: st.Server,
		KeyProvider: keyProvider(providerName(st.KeyProvider), "machine"), KeySignTest: machineKeySignTest(dir, st)}
	s.Device = deviceStatus(dir, st, p.Device)
	s.GoalState = GoalStateStatus{Version: p.Version, ReceivedAt: p.ReceivedAt, LastContact: p.LastContact,
		Extensions: extensionResults(p)}
	s.Errors = p.Errors
	if s.Errors == nil {
		s.Errors = map[string]StepError{}
	}
	return s, nil
}

func deviceStatus(dir string, st State, d *DeviceRecord) DeviceStatus {
	if d == nil {
		return DeviceStatus{}
	}
	return DeviceStatus{DirectoryJoined: true, AzureAdJoined: true, TenantID: d.TenantID, DeviceID: d.DeviceID,
		Thumbprint: d.Thumbprint, ValidFrom: d.NotBefore, ValidTo: d.NotAfter, KeyProvider: keyProvider(d.KeyProvider, "device"),
		KeySignTest: keySignTest(dir, st)}
}

// tpmDevices are where Linux exposes a TPM.
var tpmDevices = []string{"/dev/tpmrm0", "/dev/tpm0"}

// keyProvider says plainly where the key (which, "machine" or "device") is, and that a TPM,
// when the machine has one, does not hold it.
func keyProvider(p, which string) string {
	if p != KeyProviderSoftware {
		return p
	}
	for _, dev := range tpmDevices {
		if fileExists(dev) {
			return p + " (a TPM is present at " + dev + " but the " + which + " key is a file in the state directory)"
		}
	}
	return p
}

// keySignTest signs with the device key and verifies with the certificate's key, as
// dsregcmd's KeySignTest does with the TPM.
func keySignTest(dir string, st State) string {
	key, err := existingDeviceKey(dir, st)
	if err != nil {
		return "FAILED (" + err.Error() + ")"
	}
	cert, err := readCert(filepath.Join(dir, deviceCertFile))
	if err != nil {
		return "FAILED (" + err.Error() + ")"
	}
	return signTest(key, cert.PublicKey, "the device key does not match its certificate")
}

// machineKeySignTest signs with the machine key, in the TPM when it is there.
func machineKeySignTest(dir string, st State) string {
	key, err := loadMachineKey(dir, st)
	if err != nil {
		return "FAILED (" + err.Error() + ")"
	}
	return signTest(key, key.Public(), "the machine key's signature does not verify")
}

func extensionResults(p Progress) []ExtensionResult {
	out := []ExtensionResult{}
	for name, rec := range p.Extensions {
		out = append(out, ExtensionResult{Name: name, Type: rec.Type, Generation: rec.Status.Generation,
			ProvisioningState: rec.Status.ProvisioningState, Code: rec.Status.Code, Message: rec.Status.Message,
			Delivered: !rec.Pending, At: rec.At})
	}
	slices.SortFunc(out, func(a, b ExtensionResult) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// WriteText prints s as "dsregcmd /status" does: blocks of right-aligned "Name : value".
func (s Status) WriteText(w io.Writer) error {
	var b strings.Builder
	d := s.Device
	block(&b, "Device State", [][2]string{{"DirectoryJoined", yesNo(d.DirectoryJoined)}, {"AzureAdJoined", yesNo(d.AzureAdJoined)},
		{"TenantId", d.TenantID}, {"DeviceId", d.DeviceID}, {"Thumbprint", d.Thumbprint},
		{"DeviceCertificateValidity", validity(d)}, {"KeyProvider", d.KeyProvider}, {"KeySignTest", d.KeySignTest}})
	block(&b, "Machine", [][2]string{{"MachineId", s.Machine.MachineID}, {"VmResourceId", s.Machine.ResourceID},
		{"Server", s.Machine.Server}, {"KeyProvider", s.Machine.KeyProvider}, {"KeySignTest", s.Machine.KeySignTest}})
	g := s.GoalState
	rows := [][2]string{{"Version", g.Version}, {"ReceivedAt", stamp(g.ReceivedAt)}, {"LastContact", stamp(g.LastContact)}}
	for _, e := range g.Extensions {
		rows = append(rows, [2]string{e.Name, extensionLine(e)})
	}
	block(&b, "Goal State", rows)
	block(&b, "Errors", errorRows(s.Errors))
	_, err := io.WriteString(w, b.String())
	return err
}

func extensionLine(e ExtensionResult) string {
	line := fmt.Sprintf("%s (generation %s, code %d)", e.ProvisioningState, e.Generation, e.Code)
	if !e.Delivered {
		line += " [not yet delivered]"
	}
	if e.Message != "" {
		line += " " + e.Message
	}
	return line
}

func errorRows(m map[string]StepError) [][2]string {
	var rows [][2]string
	for _, step := range slices.Sorted(maps.Keys(m)) {
		rows = append(rows, [2]string{step, stamp(m[step].At) + " " + m[step].Message})
	}
	if rows == nil {
		rows = [][2]string{{"None", ""}}
	}
	return rows
}

// block writes one titled block, names right-aligned on the colon.
func block(b *strings.Builder, title string, rows [][2]string) {
	line := "+" + strings.Repeat("-", 78) + "+\n"
	fmt.Fprintf(b, "%s| %-76s |\n%s\n", line, title, line)
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	width = max(width, 28)
	for _, r := range rows {
		fmt.Fprintf(b, "%*s : %s\n", width, r[0], r[1])
	}
	b.WriteString("\n")
}

func yesNo(v bool) string {
	if v {
		return "YES"
	}
	return "NO"
}

func validity(d DeviceStatus) string {
	if d.ValidFrom.IsZero() {
		return ""
	}
	return "[ " + stamp(d.ValidFrom) + " -- " + stamp(d.ValidTo) + " ]"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// readCert reads the PEM certificate at path.
func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s is not a PEM certificate", filepath.Base(path))
	}
	return x509.ParseCertificate(blk.Bytes)
}
