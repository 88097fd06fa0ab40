package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// Provisioning states, as ARM spells them. Latch creates and deletes synchronously, so
// responses carry Succeeded and clients' long-running-operation loops end at once.
const ProvisioningSucceeded = "Succeeded"

// OS types, as ARM spells storageProfile.osDisk.osType.
const (
	OSWindows = "Windows"
	OSLinux   = "Linux"
)

// VMProperties are what Latch keeps of a virtual machine's properties. The administrator's
// password is never stored: a request that sets one only leaves OSProfile.AdminPasswordSet
// true, because the machine (not the control plane) owns its local accounts, and a password
// in the database would be a secret nobody can use and everyone could steal.
type VMProperties struct {
	VMID              string          `json:"vmId"`
	HardwareProfile   HardwareProfile `json:"hardwareProfile"`
	StorageProfile    StorageProfile  `json:"storageProfile"`
	OSProfile         OSProfile       `json:"osProfile"`
	ProvisioningState string          `json:"provisioningState"`
	// Machine is what the machine's agent reports; it stays NotConnected until an agent
	// connects. The resource manager never changes it on a PUT.
	Machine MachineState `json:"machine"`
}

// HardwareProfile is ARM's properties.hardwareProfile.
type HardwareProfile struct {
	VMSize string `json:"vmSize,omitempty"`
}

// StorageProfile is the part of ARM's properties.storageProfile Latch records: the image and
// the OS type.
type StorageProfile struct {
	ImageReference ImageReference `json:"imageReference"`
	OSDisk         OSDisk         `json:"osDisk"`
}

// ImageReference names the image a machine was made from, as ARM does.
type ImageReference struct {
	Publisher string `json:"publisher,omitempty"`
	Offer     string `json:"offer,omitempty"`
	SKU       string `json:"sku,omitempty"`
	Version   string `json:"version,omitempty"`
	ID        string `json:"id,omitempty"`
}

// URN is publisher:offer:sku:version, az's way of naming an image, or the id when the
// reference is by id.
func (r ImageReference) URN() string {
	if r.Publisher == "" && r.ID != "" {
		return r.ID
	}
	return strings.Join([]string{r.Publisher, r.Offer, r.SKU, r.Version}, ":")
}

// OSDisk records the operating system type.
type OSDisk struct {
	OSType string `json:"osType"`
}

// OSProfile is ARM's properties.osProfile without the password.
type OSProfile struct {
	ComputerName     string `json:"computerName,omitempty"`
	AdminUsername    string `json:"adminUsername,omitempty"`
	AdminPasswordSet bool   `json:"adminPasswordSet,omitempty"`
}

// Machine connection states.
const (
	MachineNotConnected = "NotConnected"
	MachineConnected    = "Connected"
	MachineDisconnected = "Disconnected" // connected once, not heard from lately
)

// MachineState is the state the machine agent reports for a virtual machine.
type MachineState struct {
	Status       string     `json:"status"`
	AgentVersion string     `json:"agentVersion,omitempty"`
	Hostname     string     `json:"hostname,omitempty"`
	OSName       string     `json:"osName,omitempty"`
	OSVersion    string     `json:"osVersion,omitempty"`
	Addresses    []string   `json:"addresses,omitempty"`
	DeviceID     string     `json:"deviceId,omitempty"`
	LastSeen     *time.Time `json:"lastSeen,omitempty"`
	// HostKeys are the machine's SSH host public keys as "type base64" lines, as its agent
	// reported them over its authenticated channel; clients pin them under the VM's name.
	HostKeys []string `json:"hostKeys,omitempty"`
	// Health is the agent's verdict on itself at its last report.
	Health *MachineHealth `json:"health,omitempty"`
}

// Machine health states, as the agent reports them.
const (
	HealthHealthy   = "Healthy"
	HealthUnhealthy = "Unhealthy"
)

// MachineHealth is HealthHealthy, or HealthUnhealthy with the problems the agent saw (the
// last error of each of its steps within the last minutes).
type MachineHealth struct {
	Status   string   `json:"status"`
	Problems []string `json:"problems,omitempty"`
}

// vmRequestProperties is what a PUT may say in properties. Decoding ignores fields Latch does
// not model (networkProfile, diagnosticsProfile …), as clients send whole ARM templates.
type vmRequestProperties struct {
	HardwareProfile HardwareProfile `json:"hardwareProfile"`
	StorageProfile  struct {
		ImageReference ImageReference `json:"imageReference"`
		OSDisk         struct {
			OSType string `json:"osType"`
		} `json:"osDisk"`
	} `json:"storageProfile"`
	OSProfile struct {
		ComputerName  string          `json:"computerName"`
		AdminUsername string          `json:"adminUsername"`
		AdminPassword json.RawMessage `json:"adminPassword"`
	} `json:"osProfile"`
}

// ParseVMRequest reads the properties of a virtual machine PUT for a machine named name and
// returns what Latch keeps, with the password reduced to a flag. prev, when not nil, is the
// machine as stored: its vmId and machine state carry over, and omitted parts are kept.
// Errors are errs.Invalid with ARM's "InvalidParameter" or "InvalidRequestContent".
func ParseVMRequest(raw json.RawMessage, name string, prev *VMProperties) (VMProperties, error) {
	const op = "resource.ParseVMRequest"
	var req vmRequestProperties
	if len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		if err := json.Unmarshal(raw, &req); err != nil {
			return VMProperties{}, errs.E(op, errs.Invalid, errs.Code("InvalidRequestContent"),
				"The request content was invalid and could not be deserialized: "+err.Error()+".")
		}
	}
	if prev != nil && req.StorageProfile.ImageReference != (ImageReference{}) &&
		!strings.EqualFold(req.StorageProfile.ImageReference.URN(), prev.StorageProfile.ImageReference.URN()) {
		return VMProperties{}, errs.E(op, errs.Invalid, errs.Code("PropertyChangeNotAllowed"),
			"Changing property 'imageReference' is not allowed.")
	}
	p := VMProperties{HardwareProfile: req.HardwareProfile, ProvisioningState: ProvisioningSucceeded,
		Machine: MachineState{Status: MachineNotConnected}, StorageProfile: StorageProfile{ImageReference: req.StorageProfile.ImageReference}}
	if prev != nil {
		p = keepPrev(p, *prev)
	}
	p.StorageProfile.OSDisk.OSType = firstNonEmpty(canonicalOS(req.StorageProfile.OSDisk.OSType), p.StorageProfile.OSDisk.OSType,
		guessOS(p.StorageProfile.ImageReference))
	p.OSProfile.ComputerName = firstNonEmpty(req.OSProfile.ComputerName, p.OSProfile.ComputerName, name)
	p.OSProfile.AdminUsername = firstNonEmpty(req.OSProfile.AdminUsername, p.OSProfile.AdminUsername)
	if pw := bytes.TrimSpace(req.OSProfile.AdminPassword); len(pw) > 0 && string(pw) != "null" && string(pw) != `""` {
		p.OSProfile.AdminPasswordSet = true
	}
	return p, validateVM(op, p)
}

// keepPrev carries over what a repeated PUT cannot change or did not say: the machine's id,
// its agent's state, its image, OS and accounts.
func keepPrev(p, prev VMProperties) VMProperties {
	p.VMID, p.Machine = prev.VMID, prev.Machine
	p.StorageProfile = prev.StorageProfile
	p.OSProfile = prev.OSProfile
	if p.HardwareProfile.VMSize == "" {
		p.HardwareProfile = prev.HardwareProfile
	}
	return p
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func canonicalOS(s string) string {
	switch strings.ToLower(s) {
	case "windows":
		return OSWindows
	case "linux":
		return OSLinux
	}
	return s
}

// guessOS names the OS of an image the request did not type: Windows images are published
// under names with "Windows" in them; everything else Latch runs on is Linux.
func guessOS(r ImageReference) string {
	if strings.Contains(strings.ToLower(r.Publisher+r.Offer+r.SKU+r.ID), "windows") {
		return OSWindows
	}
	if r == (ImageReference{}) {
		return ""
	}
	return OSLinux
}

// reservedAdminNames are the user names Azure refuses for a machine's administrator.
var reservedAdminNames = map[string]bool{"administrator": true, "admin": true, "user": true, "user1": true,
	"test": true, "user2": true, "test1": true, "user3": true, "admin1": true, "1": true, "123": true, "a": true,
	"actuser": true, "adm": true, "admin2": true, "aspnet": true, "backup": true, "console": true, "david": true,
	"guest": true, "john": true, "owner": true, "root": true, "server": true, "sql": true, "support": true,
	"support_388945a0": true, "sys": true, "test2": true, "test3": true, "user4": true, "user5": true}

func validateVM(op string, p VMProperties) error {
	bad := func(msg string) error { return errs.E(op, errs.Invalid, errs.Code("InvalidParameter"), msg) }
	if p.StorageProfile.ImageReference == (ImageReference{}) {
		return bad("The image of the virtual machine is required (properties.storageProfile.imageReference), and cannot change once the machine exists.")
	}
	if t := p.StorageProfile.OSDisk.OSType; t != OSWindows && t != OSLinux {
		return bad(fmt.Sprintf("The OS type '%s' is not valid; it must be Windows or Linux.", truncate(t, 40)))
	}
	u := p.OSProfile.AdminUsername
	if u == "" {
		return nil
	}
	max := 64
	if p.StorageProfile.OSDisk.OSType == OSWindows {
		max = 20
	}
	if len(u) > max || strings.ContainsAny(u, `\/"[]:|<>+=;,?*@& `) || strings.HasSuffix(u, ".") || reservedAdminNames[strings.ToLower(u)] {
		return bad(fmt.Sprintf("The Admin Username specified is not allowed: '%s'. It must be at most %d characters, "+
			"without special characters or a trailing '.', and not a reserved name such as 'admin' or 'root'.", truncate(u, 80), max))
	}
	return nil
}

// ParseVMProperties decodes a stored virtual machine's properties.
func ParseVMProperties(raw json.RawMessage) (VMProperties, error) {
	var p VMProperties
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, errs.E("resource.ParseVMProperties", errs.Internal, err)
	}
	return p, nil
}

// Raw encodes properties for Resource.Properties.
func Raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("resource.Raw: " + err.Error()) // only plain structs are passed
	}
	return b
}
