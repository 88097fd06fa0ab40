package httpapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"net/http"
	"strings"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/store"
)

// Onboarding: whoever may write a VM asks for a one-time token; the machine exchanges it,
// with the public half of a key pair it generated, for a machine credential. The token is
// "<tenant id>.<256 random bits>", so the exchange finds the tenant without a global index;
// only its hash is kept.

// onboardingTTL is how long an onboarding token may wait to be used.
const onboardingTTL = time.Hour

// opOnboard is the ARM operation that issues an onboarding token (a write on the VM).
const opOnboard = "Microsoft.Compute/virtualMachines/generateOnboardingToken/action"

// machineRoutes registers the endpoints a machine calls.
func (s *Server) machineRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /machines/connect", s.handleMachineConnect)
	mux.HandleFunc("POST /machines/token", s.machineAuthed(s.machineToken))
	mux.HandleFunc("PUT /machines/status", s.machineAuthed(s.machineStatus))
	mux.HandleFunc("GET /machines/self", s.machineAuthed(s.machineSelf))
	s.drsRoutes(mux) // the device registration service (drs.go)
	mux.HandleFunc("GET "+machineapi.PathGoalState, s.machineAuthed(s.machineGoalState))
	mux.HandleFunc("PUT "+machineapi.PathExtensionStatus+"/{name}", s.machineAuthed(s.machineExtensionStatus))
	mux.HandleFunc(routeMachineLogins, s.machineAuthed(s.machineLogins))
}

// generateOnboardingToken issues a one-time token that onboards one machine as the VM. The
// token is in this answer only.
func generateOnboardingToken(q *armRequest) (int, any, error) {
	vm, err := q.loadVM(opVMWrite)
	if err != nil {
		return 0, nil, err
	}
	raw := q.tenantID() + "." + randomToken()
	expires := q.s.now().UTC().Add(onboardingTTL)
	t := store.OnboardingToken{TenantID: q.tenantID(), Hash: hashSecret(raw), ResourceID: vm.ID,
		CreatedBy: q.caller.ObjectID, Expires: expires}
	if err := q.s.Store.CreateOnboardingToken(q.ctx, t); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"token": raw, "expiresOn": expires.Format(time.RFC3339),
		"resourceId": vm.ID, "server": q.s.URL}, nil
}

// connectRequest is the body of POST /machines/connect.
type connectRequest struct {
	Token     string `json:"token"`
	PublicKey string `json:"publicKey"` // P-256, PKIX DER, base64url
}

// handleMachineConnect redeems an onboarding token for a machine credential bound to the
// public key the machine sent.
func (s *Server) handleMachineConnect(w http.ResponseWriter, r *http.Request) {
	m, err := s.connectMachine(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"machineId": m.ID, "tenantId": m.TenantID,
		"resourceId": m.ResourceID, "audience": s.machineAudience()})
}

func (s *Server) connectMachine(r *http.Request) (store.Machine, error) {
	const op = "httpapi.connectMachine"
	var b connectRequest
	if err := readJSON(r, &b); err != nil {
		return store.Machine{}, err
	}
	der, err := parseMachineKey(b.PublicKey)
	if err != nil {
		return store.Machine{}, err
	}
	tid, _, ok := strings.Cut(b.Token, ".")
	if !ok || !directory.IsGUID(tid) || len(b.Token) > 200 {
		return store.Machine{}, errs.E(op, errs.Unauthenticated, errs.Code("invalid_grant"), "The onboarding token is not valid; ask for a new one.")
	}
	t, err := s.Store.RedeemOnboardingToken(r.Context(), tid, hashSecret(b.Token), s.now())
	if err != nil {
		return store.Machine{}, errs.E(op, errs.KindOf(err), errs.Code("invalid_grant"), errs.Message(err), err)
	}
	m := store.Machine{TenantID: t.TenantID, ID: newID(), ResourceID: t.ResourceID, PublicKey: der}
	return m, s.Store.CreateMachine(r.Context(), m)
}

// parseMachineKey accepts only a P-256 public key, PKIX DER in base64url.
func parseMachineKey(b64 string) ([]byte, error) {
	const op = "httpapi.parseMachineKey"
	bad := errs.E(op, errs.Invalid, errs.Code("InvalidPublicKey"), "publicKey must be a P-256 public key in PKIX DER form, base64url.")
	der, err := decodeB64(b64)
	if err != nil || len(der) == 0 {
		return nil, bad
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if k, ok := pub.(*ecdsa.PublicKey); err != nil || !ok || k.Curve != elliptic.P256() {
		return nil, bad
	}
	return der, nil
}

// machineAudience is the aud a machine's proofs must carry: this server's machine API.
func (s *Server) machineAudience() string { return s.URL + "/machines" }
