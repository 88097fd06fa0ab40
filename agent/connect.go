package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ConnectOptions say how to onboard a machine.
type ConnectOptions struct {
	Server   string // the control plane's base URL, https
	Token    string // the one-time onboarding token
	CAFile   string // extra roots for the server's certificate; "" for the system's only
	StateDir string // where the key and state go; "" for DefaultStateDir
	// HTTPClient, when set, is used instead of one built from CAFile (tests).
	HTTPClient *http.Client
}

// Connect generates the machine's P-256 key pair, exchanges the onboarding token and the
// public key for a machine identity, and saves both in the state directory. The private key
// never leaves the machine. It fails when the token was used, expired or is unknown, and
// leaves no state behind then.
func Connect(ctx context.Context, o ConnectOptions) (State, error) {
	if err := checkServer(o.Server); err != nil {
		return State{}, err
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	hc := o.HTTPClient
	if hc == nil {
		var err error
		if hc, err = newHTTPClient(o.CAFile); err != nil {
			return State{}, err
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return State{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return State{}, err
	}
	st := State{Server: strings.TrimRight(o.Server, "/"), CAFile: o.CAFile}
	body := map[string]string{"token": o.Token, "publicKey": base64.RawURLEncoding.EncodeToString(der)}
	if err := doJSON(ctx, hc, http.MethodPost, st.Server+"/machines/connect", "", body, &st); err != nil {
		return State{}, fmt.Errorf("agent: connecting: %w", err)
	}
	st.Server, st.CAFile = strings.TrimRight(o.Server, "/"), o.CAFile
	return st, save(o.StateDir, st, key)
}

// checkServer requires an absolute https URL (http only to a loopback host, for tests).
func checkServer(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("agent: --server %q is not a URL", s)
	}
	if u.Scheme == "https" || u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost") {
		return nil
	}
	return fmt.Errorf("agent: --server %q must be https", s)
}
