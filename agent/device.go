package agent

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchsh/latch/machineapi"
)

// Files of the device identity in the state directory, both 0600.
const (
	deviceKeyFile  = "device-key.pem"
	deviceCertFile = "device-cert.pem"
)

// joinTypeManagedIdentity is DeviceJoinRequest.JoinType for a join by a managed identity.
const joinTypeManagedIdentity = 4

// deviceCSRSubject is the subject Azure's device registration clients put in their request;
// the service names the device itself.
const deviceCSRSubject = "7E980AD9-B86D-4306-9425-9AC066FB014A"

// DeviceRecord is the device the machine joined the directory as.
type DeviceRecord struct {
	DeviceID    string    `json:"deviceId"`
	ObjectID    string    `json:"objectId,omitempty"`
	TenantID    string    `json:"tenantId"`
	Thumbprint  string    `json:"thumbprint"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	Endpoint    string    `json:"endpoint"` // the registration endpoint that issued it
	JoinedAt    time.Time `json:"joinedAt"`
	KeyProvider string    `json:"keyProvider"`
}

// unreachableError is a registration endpoint that could not be reached at all (refused,
// unresolvable, timed out), as opposed to one that answered with an error.
type unreachableError struct {
	endpoint string
	err      error
}

func (e *unreachableError) Error() string { return e.endpoint + " unreachable: " + e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// isUnreachable reports whether err is a failure to reach the other side at all.
func isUnreachable(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	return errors.As(err, &dns) || errors.As(err, &op) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

// join registers the machine as a device of tenant, or reuses the device it joined as
// before (same tenant, certificate still on disk), so a repeated run never registers twice.
func (f *Follower) join(ctx context.Context, ep machineapi.Endpoints, tenant, name string) (DeviceRecord, string, error) {
	if d := f.prog.Device; d != nil && d.TenantID == tenant && fileExists(filepath.Join(f.dir, deviceCertFile)) {
		return *d, "device: already joined", nil
	}
	if ep.Registration == "" {
		return DeviceRecord{}, "", errors.New("the goal state names no device registration endpoint")
	}
	tok, err := f.imdsToken(ctx, machineapi.RegistrationResource)
	if err != nil {
		return DeviceRecord{}, "", fmt.Errorf("no managed-identity token for device registration: %w", err)
	}
	key, err := deviceKey(f.dir, f.c.st)
	if err != nil {
		return DeviceRecord{}, "", err
	}
	req, err := joinRequest(key, name, tenant)
	if err != nil {
		return DeviceRecord{}, "", err
	}
	target := strings.TrimRight(ep.Registration, "/") + machineapi.PathDeviceRegistration
	var resp machineapi.DeviceJoinResponse
	if err := doJSON(ctx, f.c.http, http.MethodPost, target, "Bearer "+tok, req, &resp); err != nil {
		if isUnreachable(err) {
			return DeviceRecord{}, "", &unreachableError{endpoint: ep.Registration, err: err}
		}
		return DeviceRecord{}, "", err
	}
	d, err := f.keepDevice(resp, key, tenant, ep.Registration)
	return d, "device: joined", err
}

// joinRequest is the registration request: a PKCS#10 request signed by the device key.
func joinRequest(key crypto.Signer, name, tenant string) (machineapi.DeviceJoinRequest, error) {
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: deviceCSRSubject}}, key)
	if err != nil {
		return machineapi.DeviceJoinRequest{}, fmt.Errorf("agent: certificate request: %w", err)
	}
	return machineapi.DeviceJoinRequest{
		CertificateRequest: machineapi.CertificateRequest{Type: "pkcs10", Data: base64.StdEncoding.EncodeToString(csr)},
		DeviceDisplayName:  name, DeviceType: "Linux", OSVersion: osVersion(), TargetDomain: tenant,
		JoinType: joinTypeManagedIdentity}, nil
}

// keepDevice checks the issued certificate is for the device key, writes it and records the
// device in the progress, saved at once: a crash after this reuses the device.
func (f *Follower) keepDevice(resp machineapi.DeviceJoinResponse, key crypto.Signer, tenant, endpoint string) (DeviceRecord, error) {
	der, err := base64.StdEncoding.DecodeString(resp.Certificate.RawBody)
	if err != nil {
		return DeviceRecord{}, fmt.Errorf("the registration service's certificate is not base64: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return DeviceRecord{}, fmt.Errorf("the registration service's certificate is unreadable: %w", err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(key.Public()) {
		return DeviceRecord{}, errors.New("the registration service's certificate is not for this device's key")
	}
	if resp.DeviceID == "" {
		return DeviceRecord{}, errors.New("the registration service named no device id")
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFile(filepath.Join(f.dir, deviceCertFile), pemCert, 0o600); err != nil {
		return DeviceRecord{}, err
	}
	d := DeviceRecord{DeviceID: resp.DeviceID, ObjectID: resp.ObjectID, TenantID: tenant,
		Thumbprint: thumbprint(der), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		Endpoint: endpoint, JoinedAt: f.now(), KeyProvider: providerName(f.c.st.KeyProvider)}
	f.prog.Device = &d
	f.save()
	return d, nil
}

// thumbprint is the certificate's SHA-1 in upper-case hex, as Windows and dsregcmd show it.
func thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// leave deletes the device from the directory and forgets it locally. A device the service
// no longer knows (404) counts as left; when the VM's identity was removed meanwhile, no token
// can delete it, so it is forgotten locally and the note says so.
//
// The goal state says first whether the identity is still there: a token the metadata
// service cached before it was removed would only be refused by the registration service.
func (f *Follower) leave(ctx context.Context, gs machineapi.GoalState, ep machineapi.Endpoints) (string, error) {
	d := f.prog.Device
	if d == nil {
		f.forgetDevice()
		return "device: was not joined", nil
	}
	base := d.Endpoint
	if ep.Registration != "" {
		base = ep.Registration
	}
	var tok string
	err := errNoIdentityInGoalState
	if gs.Identity != nil {
		tok, err = f.imdsToken(ctx, machineapi.RegistrationResource)
	}
	if err == errNoIdentityInGoalState || noIdentity(err) {
		f.forgetDevice()
		return "device: " + d.DeviceID + " forgotten locally; the VM has no managed identity any more, so it was not deleted in the directory", nil
	}
	if err != nil {
		return "", fmt.Errorf("no managed-identity token to leave the directory: %w", err)
	}
	target := strings.TrimRight(base, "/") + machineapi.PathDeviceRegistration + "/" + url.PathEscape(d.DeviceID)
	err = doJSON(ctx, f.c.http, http.MethodDelete, target, "Bearer "+tok, nil, nil)
	var api *APIError
	note := "device: " + d.DeviceID + " left the directory"
	switch {
	case errors.As(err, &api) && api.Status == http.StatusNotFound:
		note = "device: " + d.DeviceID + " was already gone from the directory"
	case err != nil && isUnreachable(err):
		return "", &unreachableError{endpoint: base, err: err}
	case err != nil:
		return "", err
	}
	f.forgetDevice()
	return note, nil
}

// errNoIdentityInGoalState: the goal state says the VM has no managed identity.
var errNoIdentityInGoalState = errors.New("the VM has no managed identity")

// forgetDevice deletes the device's key and certificate and its record.
func (f *Follower) forgetDevice() {
	for _, name := range []string{deviceKeyFile, tpmDeviceKeyFileName, deviceCertFile} {
		if err := os.Remove(filepath.Join(f.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			f.noteError("device", err)
		}
	}
	f.prog.Device = nil
	f.save()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
