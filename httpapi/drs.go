package httpapi

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/token"
)

// The device registration service, Azure's enterpriseregistration.windows.net on this server:
// a VM's login extension joins the machine to the directory with its managed identity's
// token, sending a certificate request; the service creates the device object and answers
// with the device certificate from the tenant's device CA. Deleting the extension makes the
// device leave again.

// maxDRSBody caps a join request: a certificate request of token.MaxDeviceCSR in base64 plus
// a few short strings fits many times over.
const maxDRSBody = 32 << 10

// codeTooLarge is the error code of an oversized body; writeDRSError answers it with 413.
const codeTooLarge = "request_too_large"

// drsRoutes registers the device registration service. Paths answer with or without the
// trailing slash Azure's clients send, and ignore the api-version query they add.
func (s *Server) drsRoutes(mux *http.ServeMux) {
	base := machineapi.PathDeviceRegistration
	mux.HandleFunc("POST "+base, s.drs(s.drsJoin))
	mux.HandleFunc("POST "+base+"/{$}", s.drs(s.drsJoin))
	mux.HandleFunc("DELETE "+base+"/{deviceId}", s.drs(s.drsLeave))
	// Everything else under the service answers 404 with a small JSON body, as Azure's
	// endpoint does: the article's reachability check treats that 404 as "reachable".
	// The token service's "/{tenant}/…" patterns rule out a catch-all under /EnrollmentServer/,
	// so the paths a client probes are listed; others get the server's usual JSON 404.
	for _, p := range []string{"/EnrollmentServer", "/EnrollmentServer/{$}", base, base + "/{$}"} {
		mux.HandleFunc("GET "+p, s.drsNotFound)
	}
}

// registrationAudience is the resource a managed identity asks a registration token for; the
// token service mints tokens for it as for its own APIs.
func (s *Server) registrationAudience() string { return machineapi.RegistrationResource }

// drsHandler is a registration route's body, run for an authenticated managed identity.
type drsHandler func(w http.ResponseWriter, r *http.Request, mi drsIdentity) error

// drsIdentity is the managed identity calling the service and the VM it belongs to.
type drsIdentity struct {
	tenantID, objectID string
	vmID               string // the VM's ARM id
}

// drs wraps h with the service's authentication and error shape.
func (s *Server) drs(h drsHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mi, err := s.drsAuthenticate(r)
		if err == nil {
			err = h(w, r, mi)
		}
		if err != nil {
			s.writeDRSError(w, r, err)
		}
	}
}

// drsAuthenticate accepts only an access token this server issued for the registration
// resource to the enabled system-assigned identity of an existing VM.
func (s *Server) drsAuthenticate(r *http.Request) (drsIdentity, error) {
	const op = "httpapi.drsAuthenticate"
	raw, err := bearerToken(r)
	if err != nil {
		return drsIdentity{}, err
	}
	c, err := s.Tokens.Verify(r.Context(), raw, token.VerifyOptions{Kind: token.KindAccess,
		Audiences: []string{s.registrationAudience(), s.armAudience(), s.graphAudience()}, Issuers: s.drsIssuers(raw)})
	if err != nil {
		return drsIdentity{}, errs.E(op, errs.Unauthenticated, errs.Code("invalid_token"), "The access token is invalid.", err)
	}
	if err := s.requireAudience(Caller{Claims: c}, s.registrationAudience()); err != nil {
		return drsIdentity{}, errs.E(op, errs.Unauthenticated, errs.Code("invalid_token"), err)
	}
	notMI := errs.E(op, errs.PermissionDenied, errs.Code("unauthorized_client"),
		"Only a virtual machine's system-assigned managed identity can register a device.")
	if c.PrincipalType != token.PrincipalApp {
		return drsIdentity{}, notMI
	}
	sp, err := s.Store.GetServicePrincipal(r.Context(), c.TenantID, c.ObjectID)
	if errs.Is(err, errs.NotFound) || err == nil && !sp.AccountEnabled {
		return drsIdentity{}, errs.E(op, errs.Unauthenticated, errs.Code("invalid_token"), "The managed identity is disabled or no longer exists.")
	}
	if err != nil {
		return drsIdentity{}, err
	}
	if sp.Type != directory.SPManagedIdentity || !s.isVMIdentity(r.Context(), sp) {
		return drsIdentity{}, notMI
	}
	return drsIdentity{tenantID: c.TenantID, objectID: sp.ID, vmID: sp.ManagedResourceID}, nil
}

// drsIssuers are the issuers a registration token may have: the tenant's v2.0 authority (the
// one machine tokens carry) besides the server's usual ones. The tenant comes from the
// unverified token only to name the issuer to expect; Verify then checks the signature with
// that tenant's keys, so a lie gains nothing.
func (s *Server) drsIssuers(raw string) []string {
	out := s.issuers()
	if tid := unverifiedTenant(raw); directory.IsGUID(tid) {
		out = append(out, s.URL+"/"+strings.ToLower(tid)+"/v2.0")
	}
	return out
}

// unverifiedTenant reads tid from a token's payload without checking anything; "" when the
// token is not shaped like one. The size was capped by bearerToken.
func unverifiedTenant(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var p struct {
		Tid string `json:"tid"`
	}
	json.Unmarshal(b, &p)
	return p.Tid
}

// bearerToken takes the token from "Authorization: Bearer <token>", capped in size.
func bearerToken(r *http.Request) (string, error) {
	const op = "httpapi.bearerToken"
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errs.E(op, errs.Unauthenticated, errs.Code("invalid_token"), "Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, raw, ok := strings.Cut(h, " ")
	if len(h) > maxAuthHeader || !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return "", errs.E(op, errs.Unauthenticated, errs.Code("invalid_token"), "Authentication failed. The 'Authorization' header must be 'Bearer <token>'.")
	}
	return raw, nil
}

// isVMIdentity reports whether sp is the system-assigned identity of the VM it names: the VM
// exists and its identity is sp. A VM that was deleted, or whose identity was replaced,
// leaves an identity that can no longer register anything.
func (s *Server) isVMIdentity(ctx context.Context, sp directory.ServicePrincipal) bool {
	if sp.ManagedResourceID == "" {
		return false
	}
	vm, err := s.Store.GetResource(ctx, sp.TenantID, sp.ManagedResourceID)
	return err == nil && strings.EqualFold(vm.Type, resource.TypeVirtualMachine) && vm.Identity != nil &&
		vm.Identity.Type == resource.IdentitySystemAssigned && strings.EqualFold(vm.Identity.PrincipalID, sp.ID)
}

// drsJoin registers the caller's VM as a device and issues its certificate.
//
// Entra lets several devices share a display name, so a name is never refused as taken.
// What must not happen is a VM collecting devices each time its extension runs again: a join
// by the managed identity that registered earlier devices deletes them first, then creates
// the new one, so one VM has one device and the newest certificate.
func (s *Server) drsJoin(w http.ResponseWriter, r *http.Request, mi drsIdentity) error {
	const op = "httpapi.drsJoin"
	body, err := readCapped(r, maxDRSBody)
	if err != nil {
		return err
	}
	req, pub, err := ParseDeviceJoinRequest(body)
	if err != nil {
		return err
	}
	if !strings.EqualFold(req.TargetDomain, mi.tenantID) {
		return errs.E(op, errs.PermissionDenied, errs.Code("invalid_request"),
			"TargetDomain must be the tenant of the managed identity's token.")
	}
	ca, err := s.deviceCA(r.Context(), mi.tenantID)
	if err != nil {
		return err
	}
	d, cert, err := s.newDevice(ca, mi, req, pub)
	if err != nil {
		return err
	}
	if err := s.dropDevicesOf(r.Context(), mi); err != nil {
		return err
	}
	if err := s.Store.CreateDevice(r.Context(), d); err != nil {
		return err
	}
	if err := s.setVMDeviceID(r.Context(), mi.tenantID, mi.vmID, "", d.DeviceID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, machineapi.DeviceJoinResponse{
		Certificate: machineapi.DeviceCertificate{Thumbprint: cert.Thumbprint, RawBody: base64.StdEncoding.EncodeToString(cert.DER)},
		DeviceID:    d.DeviceID, ObjectID: d.ID, TenantID: d.TenantID})
	return nil
}

// newDevice certifies pub under a fresh device id and describes the device for the directory.
func (s *Server) newDevice(ca *token.DeviceCA, mi drsIdentity, req machineapi.DeviceJoinRequest, pub crypto.PublicKey) (directory.Device, token.DeviceCert, error) {
	now := s.now().UTC()
	deviceID := newID()
	cert, err := ca.IssueDeviceCert(pub, deviceID, now)
	if err != nil {
		return directory.Device{}, cert, err
	}
	d := directory.Device{ID: newID(), TenantID: mi.tenantID, DeviceID: deviceID, DisplayName: req.DeviceDisplayName,
		OperatingSystem: req.DeviceType, OperatingSystemVersion: req.OSVersion, TrustType: directory.TrustTypeAzureAD,
		ProfileType: directory.ProfileRegisteredDevice, AccountEnabled: true, RegistrationDateTime: now,
		PhysicalIDs:            []string{"[AzureResourceId]:" + mi.vmID},
		AlternativeSecurityIDs: []directory.AlternativeSecurityID{{Type: directory.AltSecIDCertificate, Key: cert.Thumbprint}},
		Certificate: directory.DeviceCertificate{Thumbprint: cert.Thumbprint, Serial: cert.Serial,
			NotBefore: cert.NotBefore, NotAfter: cert.NotAfter},
		RegisteredBy: mi.objectID, ResourceID: mi.vmID}
	return d, cert, d.Validate()
}

// dropDevicesOf deletes the devices the identity registered before; one that another request
// deleted meanwhile is already gone, which is what was wanted.
func (s *Server) dropDevicesOf(ctx context.Context, mi drsIdentity) error {
	all, err := s.Store.ListDevices(ctx, mi.tenantID)
	if err != nil {
		return err
	}
	for _, d := range all {
		if !strings.EqualFold(d.RegisteredBy, mi.objectID) {
			continue
		}
		if err := s.Store.DeleteDevice(ctx, mi.tenantID, d.ID); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return nil
}

// drsLeave deletes a device on behalf of the identity that registered it: the login
// extension's removal makes the machine leave the directory. Nobody else may, through this
// service; directory administrators delete devices through Graph. It answers 204.
func (s *Server) drsLeave(w http.ResponseWriter, r *http.Request, mi drsIdentity) error {
	const op = "httpapi.drsLeave"
	id := r.PathValue("deviceId")
	if !directory.IsGUID(id) {
		return errs.E(op, errs.NotFound, errs.Code("device_not_found"), "No device has the id '"+truncate(id, 64)+"'.")
	}
	d, err := s.Store.GetDeviceByDeviceID(r.Context(), mi.tenantID, id)
	if errs.Is(err, errs.NotFound) {
		return errs.E(op, errs.NotFound, errs.Code("device_not_found"), "No device has the id '"+id+"'.")
	}
	if err != nil {
		return err
	}
	if !strings.EqualFold(d.RegisteredBy, mi.objectID) {
		return errs.E(op, errs.PermissionDenied, errs.Code("unauthorized_client"),
			"Only the managed identity that registered the device can remove it.")
	}
	if err := s.removeDevice(r.Context(), d); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeDevice deletes d and clears it from its VM's properties, so "vm show" stops naming a
// device that is gone.
func (s *Server) removeDevice(ctx context.Context, d directory.Device) error {
	if err := s.Store.DeleteDevice(ctx, d.TenantID, d.ID); err != nil {
		return err
	}
	if d.ResourceID == "" {
		return nil
	}
	err := s.setVMDeviceID(ctx, d.TenantID, d.ResourceID, d.DeviceID, "")
	if errs.Is(err, errs.NotFound) { // the VM went first
		return nil
	}
	return err
}

// setVMDeviceID records deviceID on the VM's properties. When only is not "", the VM's device
// id is changed only while it is still only, so clearing an old device never erases a newer one.
func (s *Server) setVMDeviceID(ctx context.Context, tenantID, vmID, only, deviceID string) error {
	_, err := s.Store.UpdateResource(ctx, tenantID, vmID, func(r resource.Resource) (resource.Resource, error) {
		p, err := resource.ParseVMProperties(r.Properties)
		if err != nil {
			return r, err
		}
		if only != "" && !strings.EqualFold(p.Machine.DeviceID, only) {
			return r, nil
		}
		p.Machine.DeviceID = deviceID
		r.Properties = resource.Raw(p)
		return r, nil
	})
	return err
}

// deviceCA reads the tenant's device authority, making it on first use.
func (s *Server) deviceCA(ctx context.Context, tenantID string) (*token.DeviceCA, error) {
	const op = "httpapi.deviceCA"
	rec, err := s.Store.GetDeviceCA(ctx, tenantID)
	if errs.Is(err, errs.NotFound) {
		rec, err = s.createDeviceCA(ctx, tenantID)
	}
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), err)
	}
	ca, err := token.UnmarshalDeviceCA(rec.Key)
	if err != nil { // the stored authority is ours: a bad one is our fault, not the caller's
		return nil, errs.E(op, errs.Internal, err)
	}
	return ca, nil
}

// createDeviceCA makes and stores a new authority, or reads the one a faster replica stored.
func (s *Server) createDeviceCA(ctx context.Context, tenantID string) (store.DeviceCA, error) {
	ca, err := token.NewDeviceCA(tenantID, s.now())
	if err != nil {
		return store.DeviceCA{}, err
	}
	b, err := ca.MarshalBinary()
	if err != nil {
		return store.DeviceCA{}, err
	}
	rec := store.DeviceCA{TenantID: tenantID, Key: b}
	err = s.Store.CreateDeviceCA(ctx, rec)
	if errs.Is(err, errs.Exists) {
		return s.Store.GetDeviceCA(ctx, tenantID)
	}
	return rec, err
}

// readCapped reads the whole body, refusing one over limit without reading further.
func readCapped(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errs.E("httpapi.readCapped", errs.Invalid, errs.Code("invalid_request"), "The request body could not be read.", err)
	}
	if int64(len(b)) > limit {
		return nil, errs.E("httpapi.readCapped", errs.Invalid, errs.Code(codeTooLarge), "The request body is too large.")
	}
	return b, nil
}

// Limits of the join request's strings.
const (
	maxJoinName   = 256
	maxJoinOSText = 128
	joinTypeMI    = 4
)

// ParseDeviceJoinRequest decodes a join request strictly — unknown fields, wrong types and
// trailing data are refused — checks every field and returns the request
// with the public key of its certificate request (token.ParseDeviceCSR's checks). Every
// refusal is an errs.Invalid error with code invalid_request.
func ParseDeviceJoinRequest(body []byte) (machineapi.DeviceJoinRequest, crypto.PublicKey, error) {
	const op = "httpapi.ParseDeviceJoinRequest"
	var req machineapi.DeviceJoinRequest
	bad := func(msg string, err error) error {
		return errs.E(op, errs.Invalid, errs.Code("invalid_request"), msg, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, nil, bad("The request body is not a device registration request.", err)
	}
	if dec.More() {
		return req, nil, bad("The request body has data after its JSON value.", nil)
	}
	if msg := joinFieldProblem(req); msg != "" {
		return req, nil, bad(msg, nil)
	}
	if !strings.EqualFold(req.CertificateRequest.Type, "pkcs10") {
		return req, nil, bad("CertificateRequest.Type must be pkcs10.", nil)
	}
	der, err := base64.StdEncoding.DecodeString(req.CertificateRequest.Data)
	if err != nil {
		return req, nil, bad("CertificateRequest.Data must be standard base64.", err)
	}
	pub, err := token.ParseDeviceCSR(der)
	if err != nil {
		return req, nil, bad(errs.Message(err), err)
	}
	return req, pub, nil
}

// joinFieldProblem says what is wrong with the request's plain fields; "" when nothing is.
func joinFieldProblem(req machineapi.DeviceJoinRequest) string {
	printable := func(s string, max int) bool {
		return strings.TrimSpace(s) != "" && len(s) <= max && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
	}
	switch {
	case !printable(req.DeviceDisplayName, maxJoinName):
		return "DeviceDisplayName must have 1 to 256 printable characters."
	case !printable(req.DeviceType, maxJoinOSText):
		return "DeviceType must name the operating system, e.g. Linux."
	case req.OSVersion != "" && !printable(req.OSVersion, maxJoinOSText):
		return "OSVersion may have at most 128 printable characters."
	case !directory.IsGUID(req.TargetDomain):
		return "TargetDomain must be the tenant id."
	case req.JoinType != joinTypeMI:
		return "JoinType must be 4: a join by the virtual machine's managed identity."
	}
	return ""
}

// drsNotFound answers every other path of the service 404 with a small JSON body, without
// authentication, as Azure's endpoint does for its reachability checks.
func (s *Server) drsNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeDRSError(w, r, errs.E("httpapi.drsNotFound", errs.NotFound, errs.Code("not_found"),
		"The device registration service has no "+r.Method+" "+truncate(r.URL.Path, 128)+"."))
}

// writeDRSError answers in the registration service's error shape,
// {"error":{"code","message","clientrequestid","time"}}, which Windows' device registration
// client logs as it is. Internal errors show only the correlation id.
func (s *Server) writeDRSError(w http.ResponseWriter, r *http.Request, err error) {
	kind := errs.KindOf(err)
	code := string(errs.CodeOf(err))
	status := statusOf(kind)
	switch {
	case code == codeTooLarge:
		status = http.StatusRequestEntityTooLarge
	case code == "":
		code = "internal_error"
	}
	cid := CorrelationID(r.Context())
	msg := errs.Message(err)
	if kind == errs.Internal || kind == errs.Unavailable {
		msg = "An internal error occurred. Correlation ID: " + cid + "."
	}
	s.logError(r, err, kind)
	if kind == errs.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"clientrequestid": cid, "time": s.now().UTC().Format(time.RFC3339)}})
}
