package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
)

// endpointsFile, in the state directory, overrides endpoints of the goal state. Azure's clouds
// (Global, Government, China) differ only in these URLs; an operator (or a test) may point the
// agent at others without changing the control plane.
const endpointsFile = "endpoints.json"

// maxEndpointsFile caps what is read of an override file; five URLs need far less.
const maxEndpointsFile = 64 << 10

// LoadEndpointOverride reads the override file: path when set, otherwise endpoints.json in
// dir when it exists. It returns the zero Endpoints when there is none. An unknown field, a
// value that is not an absolute https URL (http only to a loopback address) or a file that is
// not one JSON object is refused with an Invalid error naming the problem.
func LoadEndpointOverride(dir, path string) (machineapi.Endpoints, error) {
	const op = "agent.LoadEndpointOverride"
	if path == "" {
		path = filepath.Join(dir, endpointsFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return machineapi.Endpoints{}, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return machineapi.Endpoints{}, errs.E(op, errs.Invalid, "cannot read the endpoints file "+path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEndpointsFile+1))
	if err != nil {
		return machineapi.Endpoints{}, errs.E(op, errs.Invalid, "cannot read the endpoints file "+path, err)
	}
	ep, err := ParseEndpoints(b)
	if err != nil {
		return machineapi.Endpoints{}, errs.E(op, errs.Invalid, "endpoints file "+path+": "+errs.Message(err), err)
	}
	return ep, nil
}

// ParseEndpoints reads an override: a JSON object with any of login, registration, device,
// access and management, each an absolute URL. Unknown fields and trailing data are refused.
func ParseEndpoints(b []byte) (machineapi.Endpoints, error) {
	const op = "agent.ParseEndpoints"
	var ep machineapi.Endpoints
	if len(b) > maxEndpointsFile {
		return ep, errs.E(op, errs.Invalid, "the endpoints file is too large")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ep); err != nil {
		return machineapi.Endpoints{}, errs.E(op, errs.Invalid, "not a JSON object of login, registration, device, access, management URLs", err)
	}
	if dec.More() {
		return machineapi.Endpoints{}, errs.E(op, errs.Invalid, "data after the JSON object")
	}
	for name, v := range endpointFields(ep) {
		if v == "" {
			continue
		}
		if err := checkEndpointURL(v); err != nil {
			return machineapi.Endpoints{}, errs.E(op, errs.Invalid, name+": "+err.Error())
		}
	}
	return ep, nil
}

// endpointFields names each endpoint, in the article's order.
func endpointFields(ep machineapi.Endpoints) map[string]string {
	return map[string]string{"login": ep.Login, "registration": ep.Registration, "device": ep.Device,
		"access": ep.Access, "management": ep.Management}
}

// checkEndpointURL requires https, or http to a loopback address (tests, local proxies).
func checkEndpointURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return errors.New("not an absolute URL")
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && isLoopback(u.Hostname()) {
		return nil
	}
	return errors.New("must be https (plain http only to a loopback address)")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// mergeEndpoints is base with every non-empty field of override in its place.
func mergeEndpoints(base, override machineapi.Endpoints) machineapi.Endpoints {
	pick := func(b, o string) string {
		if o != "" {
			return o
		}
		return b
	}
	return machineapi.Endpoints{Login: pick(base.Login, override.Login),
		Registration: pick(base.Registration, override.Registration), Device: pick(base.Device, override.Device),
		Access: pick(base.Access, override.Access), Management: pick(base.Management, override.Management)}
}
