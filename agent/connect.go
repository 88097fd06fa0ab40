package agent

import (
	"context"
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
	// TPM is TPMAuto ("" too), TPMRequire or TPMOff: whether the keys are made in a TPM.
	TPM string
	// TPMDevice is the TPM's device; "" for DefaultTPMDevice.
	TPMDevice string
	// TPMSimulator, host:port, is a TPM simulator's command port used instead of the device
	// (its platform port is the next one), for tests.
	TPMSimulator string
}

// tpmAddr is where the TPM is, as State.TPM records it.
func (o ConnectOptions) tpmAddr() string {
	switch {
	case o.TPMSimulator != "":
		return tpmTCPPrefix + o.TPMSimulator
	case o.TPMDevice != "":
		return o.TPMDevice
	}
	return DefaultTPMDevice
}

// Connect generates the machine's P-256 key pair, in the TPM when o.TPM allows and one works,
// exchanges the onboarding token and the public key for a machine identity, and saves both
// in the state directory. The private key never leaves the machine, nor the TPM when it is
// there. It fails when the token was used, expired or is unknown, or when o.TPM is
// TPMRequire and no TPM works, and leaves no state behind then.
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
	key, note, err := newMachineKey(o.TPM, o.tpmAddr())
	if err != nil {
		return State{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return State{}, err
	}
	st := State{Server: strings.TrimRight(o.Server, "/"), CAFile: o.CAFile}
	body := map[string]string{"token": o.Token, "publicKey": base64.RawURLEncoding.EncodeToString(der)}
	if err := doJSON(ctx, hc, http.MethodPost, st.Server+"/machines/connect", "", body, &st); err != nil {
		return State{}, fmt.Errorf("agent: connecting: %w", err)
	}
	st.Server, st.CAFile, st.KeyProvider = strings.TrimRight(o.Server, "/"), o.CAFile, providerOf(key)
	if st.KeyProvider == KeyProviderTPM {
		st.TPM = o.tpmAddr()
	}
	st.KeyNote = note
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
