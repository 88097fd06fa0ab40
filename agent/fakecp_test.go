package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/imds"
	"github.com/latchsh/latch/machineapi"
)

// fakeCP is a control plane that speaks machineapi: goal state, extension status, the
// machine's identity and tokens, and the device registration service.
type fakeCP struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	gs       machineapi.GoalState
	identity *machineapi.Identity
	statuses map[string][]machineapi.ExtensionStatus
	devices  map[string]bool // live device ids
	joins    int
	deletes  int
	// statusFail, while positive, answers that many final extension reports with 503.
	statusFail int
	// joinRefusal, when set, is the registration service's answer status.
	joinRefusal int
	polls       int
	onPoll      func(version string)
}

func newFakeCP(t *testing.T) *fakeCP {
	cp := &fakeCP{t: t, statuses: map[string][]machineapi.ExtensionStatus{}, devices: map[string]bool{},
		identity: &machineapi.Identity{PrincipalID: "oid-1", ClientID: "client-1", TenantID: "tenant-1"}}
	cp.srv = httptest.NewServer(http.HandlerFunc(cp.serve))
	t.Cleanup(cp.srv.Close)
	cp.gs = machineapi.GoalState{Version: "v1", TenantID: "tenant-1", VMName: "vm1", Identity: cp.identity,
		ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
		Endpoints:  machineapi.Endpoints{Registration: cp.srv.URL, Login: cp.srv.URL, Device: cp.srv.URL, Access: cp.srv.URL},
		Login:      &machineapi.Login{Users: []machineapi.LoginUser{{ObjectID: "u1", LocalName: "alice"}}, TTLSeconds: 600}}
	return cp
}

// set changes the goal state under a new version.
func (cp *fakeCP) set(version string, change func(*machineapi.GoalState)) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	change(&cp.gs)
	cp.gs.Version = version
}

func linuxExtension(gen string) machineapi.Extension {
	return machineapi.Extension{Name: "AADSSHLoginForLinux", Publisher: "Microsoft.Azure.ActiveDirectory",
		Type: "AADSSHLoginForLinux", TypeHandlerVersion: "1.0", State: machineapi.ExtensionEnabled, Generation: gen}
}

func (cp *fakeCP) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, machineapi.PathDeviceRegistration) && !strings.HasPrefix(r.Header.Get("Authorization"), "MachineProof ") {
		http.Error(w, "no proof", http.StatusUnauthorized)
		return
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	switch {
	case r.URL.Path == machineapi.PathGoalState:
		cp.polls++
		if cp.onPoll != nil {
			cp.onPoll(r.URL.Query().Get("version"))
		}
		if r.URL.Query().Get("version") == cp.gs.Version {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeJSONTest(w, 200, cp.gs)
	case strings.HasPrefix(r.URL.Path, machineapi.PathExtensionStatus+"/"):
		cp.extensionStatus(w, r)
	case r.URL.Path == "/machines/self":
		writeJSONTest(w, 200, map[string]any{"tenantId": "tenant-1", "identity": cp.identity})
	case r.URL.Path == "/machines/token":
		cp.token(w)
	case r.URL.Path == "/machines/status":
		w.WriteHeader(200)
	case r.URL.Path == machineapi.PathDeviceRegistration && r.Method == http.MethodPost:
		cp.join(w, r)
	case strings.HasPrefix(r.URL.Path, machineapi.PathDeviceRegistration+"/") && r.Method == http.MethodDelete:
		cp.leave(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (cp *fakeCP) extensionStatus(w http.ResponseWriter, r *http.Request) {
	var st machineapi.ExtensionStatus
	if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	final := st.ProvisioningState != machineapi.ProvisioningCreating && st.ProvisioningState != machineapi.ProvisioningUpdating &&
		st.ProvisioningState != machineapi.ProvisioningDeleting
	if final && cp.statusFail > 0 {
		cp.statusFail--
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, machineapi.PathExtensionStatus+"/")
	cp.statuses[name] = append(cp.statuses[name], st)
	w.WriteHeader(200)
}

func (cp *fakeCP) token(w http.ResponseWriter) {
	if cp.identity == nil {
		writeJSONTest(w, 400, map[string]any{"error": map[string]string{"code": "identity_not_found", "message": "no identity"}})
		return
	}
	claims, _ := json.Marshal(map[string]string{"oid": cp.identity.PrincipalID, "aud": machineapi.RegistrationResource})
	jwt := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
	writeJSONTest(w, 200, map[string]any{"access_token": jwt, "expires_on": time.Now().Add(time.Hour).Unix(),
		"object_id": cp.identity.PrincipalID})
}

func (cp *fakeCP) join(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		http.Error(w, "no bearer", 401)
		return
	}
	if cp.joinRefusal != 0 {
		writeJSONTest(w, cp.joinRefusal, map[string]any{"error": map[string]string{"code": "DirectoryError", "message": "device quota reached"}})
		return
	}
	var req machineapi.DeviceJoinRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	der, _ := base64.StdEncoding.DecodeString(req.CertificateRequest.Data)
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil || csr.CheckSignature() != nil || req.JoinType != 4 || req.DeviceType != "Linux" || req.TargetDomain != "tenant-1" {
		http.Error(w, "bad join request", 400)
		return
	}
	cp.joins++
	id := "device-" + string(rune('0'+cp.joins))
	cp.devices[id] = true
	cert := issue(cp.t, csr.PublicKey.(*ecdsa.PublicKey), id)
	writeJSONTest(w, 200, machineapi.DeviceJoinResponse{DeviceID: id, ObjectID: "obj-" + id, TenantID: req.TargetDomain,
		Certificate: machineapi.DeviceCertificate{RawBody: base64.StdEncoding.EncodeToString(cert)}})
}

func (cp *fakeCP) leave(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, machineapi.PathDeviceRegistration+"/")
	if !cp.devices[id] {
		http.NotFound(w, r)
		return
	}
	delete(cp.devices, id)
	cp.deletes++
	w.WriteHeader(200)
}

// issue makes a self-signed certificate for pub, as the registration service's stand-in.
func issue(t *testing.T, pub *ecdsa.PublicKey, cn string) []byte {
	caKey := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writeJSONTest(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// states lists the provisioning states reported for name, in order.
func (cp *fakeCP) states(name string) []string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	var out []string
	for _, s := range cp.statuses[name] {
		out = append(out, s.ProvisioningState)
	}
	return out
}

func (cp *fakeCP) last(name string) machineapi.ExtensionStatus {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	s := cp.statuses[name]
	if len(s) == 0 {
		return machineapi.ExtensionStatus{}
	}
	return s[len(s)-1]
}

// fakeLogin is a LoginSetup that counts its calls; block, when set, holds Apply until the
// context ends.
type fakeLogin struct {
	mu                     sync.Mutex
	applies, confirms, rms int
	last                   *machineapi.Login
	block                  chan struct{} // closed when a blocked Apply started
	fail                   error
}

func (l *fakeLogin) Apply(ctx context.Context, _ State, lg *machineapi.Login) error {
	l.mu.Lock()
	block := l.block
	l.mu.Unlock()
	if block != nil {
		close(block)
		<-ctx.Done()
		return ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applies++
	l.last = lg
	return l.fail
}

func (l *fakeLogin) Confirm(time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.confirms++
	return nil
}

func (l *fakeLogin) Remove(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rms++
	return nil
}

func (l *fakeLogin) counts() (applies, confirms, removes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applies, l.confirms, l.rms
}

// rig is one machine: its state directory, its client, its metadata service on loopback.
type rig struct {
	cp     *fakeCP
	dir    string
	c      *Client
	imds   string
	logBuf *syncBuffer
}

func newRig(t *testing.T, cp *fakeCP) *rig {
	dir := t.TempDir()
	st := State{Server: cp.srv.URL, MachineID: "m1", TenantID: "tenant-1", Audience: "aud", ResourceID: cp.gs.ResourceID}
	key := newKey(t)
	c, err := NewClient(st, key, cp.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := save(dir, st, key); err != nil {
		t.Fatal(err)
	}
	srv := imds.New(NewSource(c), imds.Config{Logger: slog.New(slog.DiscardHandler)})
	ln, err := srv.ListenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &rig{cp: cp, dir: dir, c: c, imds: "http://" + ln.Addr().String(), logBuf: &syncBuffer{}}
}

// follower is a new follower of the rig's machine, as after an agent (re)start.
func (r *rig) follower(t *testing.T, login LoginSetup, override machineapi.Endpoints) *Follower {
	f, err := NewFollower(r.c, FollowerOptions{StateDir: r.dir, Login: login, IMDSURL: r.imds, Endpoints: override,
		Wait: time.Second, Logger: slog.New(slog.NewTextHandler(r.logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.hostname = func() (string, error) { return "host1", nil }
	return f
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
