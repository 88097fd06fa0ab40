package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/internal/compactjws"
	"github.com/latchsh/latch/store"
)

// A machine proves itself on every request with a JWT it signed with its own key (ES256 only),
// sent as "Authorization: MachineProof <jwt>". The proof names the machine and tenant, is
// addressed to this server's machine API, lives at most maxProofLifetime, and is accepted
// once: its jti is recorded until it expires, so a captured proof cannot be replayed.
const (
	maxProofSize     = 2048
	maxProofLifetime = 5 * time.Minute
	proofSkew        = time.Minute
)

var (
	proofHeaderKeys = map[string]bool{"alg": true, "typ": true}
	proofClaimKeys  = map[string]bool{"iss": true, "sub": true, "tid": true, "aud": true, "iat": true, "exp": true, "jti": true}
)

type proofHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
}

type proofClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Tid string `json:"tid"`
	Aud string `json:"aud"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

// machineHandler serves a request a machine has proved it sent.
type machineHandler func(w http.ResponseWriter, r *http.Request, m store.Machine) error

// machineAuthed verifies the request's machine proof before h runs.
func (s *Server) machineAuthed(h machineHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := s.verifyMachineProof(r.Context(), r.Header.Get("Authorization"))
		if err == nil {
			err = h(w, r, m)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

// verifyMachineProof returns the machine whose key signed the proof in authz. Every failure
// is Unauthenticated with one message, so a caller learns nothing of which check failed.
func (s *Server) verifyMachineProof(ctx context.Context, authz string) (store.Machine, error) {
	const op = "httpapi.verifyMachineProof"
	m, c, err := s.checkProof(ctx, authz)
	if err != nil {
		if errs.KindOf(err) == errs.Unavailable {
			return m, err
		}
		return m, errs.E(op, errs.Unauthenticated, errs.Code("InvalidMachineProof"),
			"The machine's proof of identity was not accepted; reconnect the machine with a new onboarding token if this persists.", err)
	}
	exp := time.Unix(c.Exp, 0)
	err = s.Store.UseJTI(ctx, "machine|"+m.TenantID+"|"+m.ID+"|"+c.Jti, exp, s.now())
	if errs.Is(err, errs.Exists) {
		return m, errs.E(op, errs.Unauthenticated, errs.Code("InvalidMachineProof"), "This machine proof was used already.", err)
	}
	if err != nil {
		return m, err
	}
	return m, nil
}

// checkProof parses and verifies the proof's shape, times, audience and signature.
func (s *Server) checkProof(ctx context.Context, authz string) (store.Machine, proofClaims, error) {
	const op = "httpapi.checkProof"
	var c proofClaims
	raw, ok := strings.CutPrefix(authz, "MachineProof ")
	if !ok {
		return store.Machine{}, c, errs.E(op, errs.Unauthenticated, "no MachineProof authorization")
	}
	segs, err := compactjws.Split(raw, maxProofSize)
	if err != nil {
		return store.Machine{}, c, errs.E(op, errs.Unauthenticated, err)
	}
	var h proofHeader
	if err := compactjws.DecodeSegment(segs[0], &h, proofHeaderKeys); err != nil || h.Alg != "ES256" {
		return store.Machine{}, c, errs.E(op, errs.Unauthenticated, "header not ES256")
	}
	if err := compactjws.DecodeSegment(segs[1], &c, proofClaimKeys); err != nil {
		return store.Machine{}, c, errs.E(op, errs.Unauthenticated, err)
	}
	if err := s.checkProofClaims(c); err != nil {
		return store.Machine{}, c, err
	}
	m, err := s.Store.GetMachine(ctx, c.Tid, c.Sub)
	if err != nil {
		return m, c, err
	}
	return m, c, verifyES256(m.PublicKey, segs)
}

// checkProofClaims checks who the proof names, to whom and for how long.
func (s *Server) checkProofClaims(c proofClaims) error {
	const op = "httpapi.checkProofClaims"
	now := s.now().Unix()
	switch {
	case c.Sub == "" || c.Iss != c.Sub || c.Tid == "" || c.Jti == "" || len(c.Jti) > 128:
		return errs.E(op, errs.Unauthenticated, "proof names no machine or has no jti")
	case c.Aud != s.machineAudience():
		return errs.E(op, errs.Unauthenticated, "proof for another audience")
	case c.Exp <= now || c.Iat > now+int64(proofSkew.Seconds()):
		return errs.E(op, errs.Unauthenticated, "proof expired or not yet valid")
	case c.Exp-c.Iat > int64(maxProofLifetime.Seconds()) || c.Exp < c.Iat:
		return errs.E(op, errs.Unauthenticated, "proof lives too long")
	}
	return nil
}

// verifyES256 checks the JWS signature (r||s, 64 bytes) over the first two segments.
func verifyES256(pkix []byte, segs [3]string) error {
	const op = "httpapi.verifyES256"
	pub, err := x509.ParsePKIXPublicKey(pkix)
	key, ok := pub.(*ecdsa.PublicKey)
	if err != nil || !ok {
		return errs.E(op, errs.Unauthenticated, "machine key unreadable")
	}
	sig, err := compactjws.DecodeB64(segs[2])
	if err != nil || len(sig) != 64 {
		return errs.E(op, errs.Unauthenticated, "signature malformed")
	}
	sum := sha256.Sum256([]byte(segs[0] + "." + segs[1]))
	r, sv := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(key, sum[:], r, sv) {
		return errs.E(op, errs.Unauthenticated, "signature does not verify")
	}
	return nil
}
