package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// proofLifetime is how long one request's proof is valid; the server accepts at most five
// minutes and each proof once.
const proofLifetime = 2 * time.Minute

// Client calls the control plane's machine API as one machine.
type Client struct {
	st   State
	key  crypto.Signer
	http *http.Client
	now  func() time.Time
	// sshdConfig is the sshd configuration whose host keys status reports name; "" for
	// the system's.
	sshdConfig string
	// stateDir is where the goal-state follower keeps its step errors, for the health the
	// status reports; "" reports healthy.
	stateDir string
}

// NewClient returns a client for the machine st describes, signing with key (a P-256 key:
// an *ecdsa.PrivateKey or the MachineKey Load returns). httpClient may be nil: then one
// trusting the system's roots and st.CAFile is made.
func NewClient(st State, key crypto.Signer, httpClient *http.Client) (*Client, error) {
	if httpClient == nil {
		var err error
		if httpClient, err = newHTTPClient(st.CAFile); err != nil {
			return nil, err
		}
	}
	return &Client{st: st, key: key, http: httpClient, now: time.Now}, nil
}

// State is what the client knows of the machine.
func (c *Client) State() State { return c.st }

// newHTTPClient trusts the system's roots plus caFile's certificates, and never follows a
// redirect (a redirect would carry the proof elsewhere).
func newHTTPClient(caFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("agent: CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("agent: CA file %s holds no PEM certificate", caFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// proof is a fresh ES256 JWT naming the machine, for one request.
func (c *Client) proof() (string, error) {
	now := c.now()
	var jti [16]byte
	rand.Read(jti[:])
	claims := map[string]any{"iss": c.st.MachineID, "sub": c.st.MachineID, "tid": c.st.TenantID,
		"aud": c.st.Audience, "iat": now.Unix(), "exp": now.Add(proofLifetime).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti[:])}
	return signES256(c.key, claims)
}

// signES256 makes a compact JWS over claims with header {"alg":"ES256","typ":"JWT"}. The
// signer answers in ASN.1, as crypto.Signer does; JWS wants r and s as two 32-byte halves.
func signES256(key crypto.Signer, claims map[string]any) (string, error) {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`))
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	in := h + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(in))
	der, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", err
	}
	sig, err := jwsSignature(der)
	if err != nil {
		return "", err
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// jwsSignature turns an ASN.1 P-256 ECDSA signature into JWS's r||s, each 32 bytes.
func jwsSignature(der []byte) ([]byte, error) {
	var rs ecdsaSig
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errNotECDSA
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}

// APIError is a refusal from the control plane: its HTTP status and error code.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("control plane answered %d %s: %s", e.Status, e.Code, e.Message)
}

// call sends body as JSON (nil sends none) with a machine proof and decodes a 2xx answer
// into out (nil ignores it). Refusals are *APIError.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	proof, err := c.proof()
	if err != nil {
		return err
	}
	return doJSON(ctx, c.http, method, strings.TrimRight(c.st.Server, "/")+path, "MachineProof "+proof, body, out)
}

// doJSON is one JSON request; authz, when set, is the Authorization header.
func doJSON(ctx context.Context, hc *http.Client, method, url, authz string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("agent: %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return apiError(resp.StatusCode, raw)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// apiError reads ARM's {"error":{"code","message"}} shape.
func apiError(status int, raw []byte) error {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	return &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
}
