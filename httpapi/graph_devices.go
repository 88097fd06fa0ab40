package httpapi

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

// Graph's devices: the machines the registration service joined (drs.go). Any user of the
// tenant may read them, as Entra's default user permissions allow; deleting one needs a
// directory role allowing microsoft.directory/devices/delete (Global Administrator).

// deviceFilterSchema is what $filter may ask of a device.
var deviceFilterSchema = newFilterSchema("Device", map[string]filterKind{"id": filterString,
	"deviceId": filterString, "displayName": filterString, "operatingSystem": filterString,
	"operatingSystemVersion": filterString, "trustType": filterString, "accountEnabled": filterBool})

// graphDeviceRoutes registers /v1.0/devices.
func (s *Server) graphDeviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1.0/devices", s.graph(s.listDevices))
	mux.HandleFunc("GET /v1.0/devices/{id}", s.graph(s.getDevice))
	mux.HandleFunc("DELETE /v1.0/devices/{id}", s.graph(s.deleteDevice))
}

// deviceJSON is Graph's device resource. What Graph has no property for — the certificate's
// validity, who registered the device, its VM — is under "latch".
func deviceJSON(d directory.Device) map[string]any {
	alt := make([]map[string]any, len(d.AlternativeSecurityIDs))
	for i, a := range d.AlternativeSecurityIDs {
		alt[i] = map[string]any{"type": a.Type, "identityProvider": nullIfEmpty(a.IdentityProvider), "key": altSecKey(a.Key)}
	}
	return map[string]any{
		"@odata.type":                   "#microsoft.graph.device",
		"id":                            d.ID,
		"deviceId":                      d.DeviceID,
		"displayName":                   d.DisplayName,
		"operatingSystem":               d.OperatingSystem,
		"operatingSystemVersion":        d.OperatingSystemVersion,
		"trustType":                     d.TrustType,
		"profileType":                   d.ProfileType,
		"accountEnabled":                d.AccountEnabled,
		"registrationDateTime":          graphTime(d.RegistrationDateTime),
		"createdDateTime":               graphTime(d.Created),
		"approximateLastSignInDateTime": graphTime(d.ApproximateLastSignInDateTime),
		"physicalIds":                   nonNil(d.PhysicalIDs),
		"alternativeSecurityIds":        alt,
		"isCompliant":                   nil,
		"isManaged":                     nil,
		"latch": map[string]any{
			"certificateThumbprint": d.Certificate.Thumbprint,
			"certificateNotBefore":  graphTime(d.Certificate.NotBefore),
			"certificateNotAfter":   graphTime(d.Certificate.NotAfter),
			"registeredBy":          d.RegisteredBy,
			"resourceId":            d.ResourceID,
		},
	}
}

// altSecKey shows a thumbprint as Graph's Edm.Binary key: the thumbprint's bytes in base64.
func altSecKey(thumbprint string) string {
	b, err := hex.DecodeString(thumbprint)
	if err != nil {
		b = []byte(thumbprint)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "devices"); err != nil {
		return err
	}
	q, err := parseGraphQuery(r, deviceFilterSchema, deviceJSON(directory.Device{}))
	if err != nil {
		return err
	}
	devs, err := s.Store.ListDevices(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	objs := make([]map[string]any, len(devs))
	for i, d := range devs {
		objs[i] = deviceJSON(d)
	}
	s.writeGraphList(w, r, "devices", objs, q)
	return nil
}

// lookupDevice finds a device of the tenant by its object id.
func (s *Server) lookupDevice(r *http.Request, tenantID string) (directory.Device, error) {
	id := r.PathValue("id")
	if !directory.IsGUID(id) {
		return directory.Device{}, graphNotFound("httpapi.lookupDevice", id)
	}
	d, err := s.Store.GetDevice(r.Context(), tenantID, strings.ToLower(id))
	return d, asGraphError("httpapi.lookupDevice", id, err)
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "devices"); err != nil {
		return err
	}
	d, err := s.lookupDevice(r, c.TenantID)
	if err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusOK, "devices", deviceJSON(d))
}

// deleteDevice removes a device from the directory and from its VM's properties. The machine
// keeps its certificate, which names a device that no longer exists: like Entra, the
// directory, not the certificate, decides whether a device is joined.
func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.deleteDevice"
	if err := s.authorizeWrite(r.Context(), c, "devices", directory.ActionDelete); err != nil {
		return err
	}
	d, err := s.lookupDevice(r, c.TenantID)
	if err != nil {
		return err
	}
	if err := s.removeDevice(r.Context(), d); err != nil {
		if errs.Is(err, errs.NotFound) {
			return graphNotFound(op, d.ID)
		}
		return err
	}
	noContent(w)
	return nil
}
