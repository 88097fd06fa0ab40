package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
)

// Publishers and types of the extensions Latch's agent can apply. Azure's names are accepted
// so that the article's command lines and az work unchanged; Latch's own name does the same
// on any operating system.
const (
	PublisherAzureAD   = "Microsoft.Azure.ActiveDirectory"
	ExtAADSSHLinux     = "AADSSHLoginForLinux"
	ExtAADLoginWindows = "AADLoginForWindows"
	PublisherLatch     = "Latch.Identity"
	ExtLatchLogin      = "LatchLogin"
)

// ExtensionImage is one extension type a publisher offers, with its versions, oldest first.
type ExtensionImage struct {
	Publisher string
	Type      string
	Versions  []string
}

var extensionCatalog = []ExtensionImage{
	{PublisherAzureAD, ExtAADLoginWindows, []string{"1.0.0.1", "2.0.0.0", "2.2.0.0"}},
	{PublisherAzureAD, ExtAADSSHLinux, []string{"1.0.0.0", "1.0.2385.1"}},
	{PublisherLatch, ExtLatchLogin, []string{"1.0.0.0"}},
}

// ExtensionPublishers lists the publishers of ExtensionImages, sorted.
func ExtensionPublishers() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range extensionCatalog {
		if !seen[e.Publisher] {
			seen[e.Publisher] = true
			out = append(out, e.Publisher)
		}
	}
	sort.Strings(out)
	return out
}

// ExtensionTypes lists the images of one publisher (any case); none for an unknown publisher.
func ExtensionTypes(publisher string) []ExtensionImage {
	var out []ExtensionImage
	for _, e := range extensionCatalog {
		if strings.EqualFold(e.Publisher, publisher) {
			out = append(out, ExtensionImage{e.Publisher, e.Type, append([]string(nil), e.Versions...)})
		}
	}
	return out
}

// FindExtensionImage returns the image of publisher and type (any case).
func FindExtensionImage(publisher, typ string) (ExtensionImage, bool) {
	for _, e := range ExtensionTypes(publisher) {
		if strings.EqualFold(e.Type, typ) {
			return e, true
		}
	}
	return ExtensionImage{}, false
}

// ExtensionProperties are what Latch keeps of an extension. protectedSettings are never
// stored: they are secrets for the machine, and Latch's extensions need none.
type ExtensionProperties struct {
	Publisher               string          `json:"publisher"`
	Type                    string          `json:"type"`
	TypeHandlerVersion      string          `json:"typeHandlerVersion"`
	AutoUpgradeMinorVersion bool            `json:"autoUpgradeMinorVersion"`
	EnableAutomaticUpgrade  *bool           `json:"enableAutomaticUpgrade,omitempty"`
	Settings                json.RawMessage `json:"settings,omitempty"`
	ProvisioningState       string          `json:"provisioningState"`
	// InstanceView is what the machine last reported, or why nothing has happened yet.
	InstanceView *ExtensionInstanceView `json:"instanceView,omitempty"`
	// Latch is the control plane's own bookkeeping; ARM answers leave it out.
	Latch *ExtensionLatch `json:"latch,omitempty"`
}

// Extension provisioning states Latch moves through, as ARM spells them: a set extension is
// Creating (or Updating) until the machine reports, a deleted one Deleting until the machine
// has undone it.
const (
	ProvisioningCreating = "Creating"
	ProvisioningUpdating = "Updating"
	ProvisioningFailed   = "Failed"
	ProvisioningDeleting = "Deleting"
)

// ExtensionLatch is what the control plane keeps of an extension beside ARM's properties.
type ExtensionLatch struct {
	// Generation changes on every PUT, so the machine runs the extension again, and a status
	// the machine reports is matched to the PUT it answers.
	Generation string `json:"generation"`
	// State is machineapi's enabled or deleting.
	State string `json:"state"`
}

// ExtensionInstanceView is ARM's properties.instanceView of an extension.
type ExtensionInstanceView struct {
	Name               string           `json:"name"`
	Type               string           `json:"type"`
	TypeHandlerVersion string           `json:"typeHandlerVersion"`
	Statuses           []InstanceStatus `json:"statuses"`
}

// InstanceStatus is one ARM instance-view status.
type InstanceStatus struct {
	Code          string     `json:"code"`
	Level         string     `json:"level"`
	DisplayStatus string     `json:"displayStatus,omitempty"`
	Message       string     `json:"message,omitempty"`
	Time          *time.Time `json:"time,omitempty"`
}

// Terminal reports whether the extension's provisioning state ends an operation.
func (p ExtensionProperties) Terminal() bool {
	return p.ProvisioningState == ProvisioningSucceeded || p.ProvisioningState == ProvisioningFailed
}

// Generation is the extension's generation, "" for one stored before generations existed.
func (p ExtensionProperties) Generation() string {
	if p.Latch == nil {
		return ""
	}
	return p.Latch.Generation
}

// Deleting reports whether the extension is being undone on the machine.
func (p ExtensionProperties) Deleting() bool {
	return p.ProvisioningState == ProvisioningDeleting || p.Latch != nil && p.Latch.State == "deleting"
}

// IsLoginExtension reports whether the extension is one of the login extensions: the
// machine then needs the list of who may log in.
func (p ExtensionProperties) IsLoginExtension() bool {
	switch {
	case strings.EqualFold(p.Publisher, PublisherAzureAD):
		return strings.EqualFold(p.Type, ExtAADSSHLinux) || strings.EqualFold(p.Type, ExtAADLoginWindows)
	case strings.EqualFold(p.Publisher, PublisherLatch):
		return strings.EqualFold(p.Type, ExtLatchLogin)
	}
	return false
}

type extensionRequest struct {
	Publisher               string          `json:"publisher"`
	Type                    string          `json:"type"`
	TypeHandlerVersion      string          `json:"typeHandlerVersion"`
	AutoUpgradeMinorVersion *bool           `json:"autoUpgradeMinorVersion"`
	EnableAutomaticUpgrade  *bool           `json:"enableAutomaticUpgrade"`
	Settings                json.RawMessage `json:"settings"`
}

// ParseExtensionRequest reads the properties of an extension PUT. The publisher and type must
// name an extension in the catalog (ARM's "NotFound" otherwise, kind errs.NotFound), the
// version must be one of its versions or a major.minor prefix of one; names are returned in
// the catalog's spelling; the state is Creating. Malformed input is errs.Invalid.
func ParseExtensionRequest(raw json.RawMessage) (ExtensionProperties, error) {
	const op = "resource.ParseExtensionRequest"
	var req extensionRequest
	if err := json.Unmarshal(orNull(raw), &req); err != nil {
		return ExtensionProperties{}, errs.E(op, errs.Invalid, errs.Code("InvalidRequestContent"),
			"The request content was invalid and could not be deserialized: "+err.Error()+".")
	}
	if req.Publisher == "" || req.Type == "" {
		return ExtensionProperties{}, errs.E(op, errs.Invalid, errs.Code("InvalidParameter"),
			"The extension's publisher and type are required (properties.publisher, properties.type).")
	}
	img, ok := FindExtensionImage(req.Publisher, req.Type)
	if !ok || !versionOffered(img, req.TypeHandlerVersion) {
		return ExtensionProperties{}, errs.E(op, errs.NotFound, errs.Code("NotFound"), fmt.Sprintf(
			"Extension with publisher '%s', type '%s', and type handler version '%s' could not be found in the extension repository.",
			truncate(req.Publisher, 100), truncate(req.Type, 100), truncate(req.TypeHandlerVersion, 40)))
	}
	p := ExtensionProperties{Publisher: img.Publisher, Type: img.Type, TypeHandlerVersion: req.TypeHandlerVersion,
		AutoUpgradeMinorVersion: req.AutoUpgradeMinorVersion == nil || *req.AutoUpgradeMinorVersion,
		EnableAutomaticUpgrade:  req.EnableAutomaticUpgrade, ProvisioningState: ProvisioningCreating}
	if s := bytes.TrimSpace(req.Settings); len(s) > 0 && string(s) != "null" {
		p.Settings = s
	}
	if p.TypeHandlerVersion == "" {
		p.TypeHandlerVersion = majorMinor(img.Versions[len(img.Versions)-1])
	}
	return p, nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// versionOffered accepts "" (the newest), a full version, or a prefix at a dot boundary ("2.2"
// for "2.2.0.0"), which is what az sends after trimming the newest version to major.minor.
func versionOffered(img ExtensionImage, v string) bool {
	if v == "" {
		return true
	}
	for _, have := range img.Versions {
		if have == v || strings.HasPrefix(have, v+".") {
			return true
		}
	}
	return false
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// ParseExtensionProperties decodes a stored extension's properties.
func ParseExtensionProperties(raw json.RawMessage) (ExtensionProperties, error) {
	var p ExtensionProperties
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, errs.E("resource.ParseExtensionProperties", errs.Internal, err)
	}
	return p, nil
}
