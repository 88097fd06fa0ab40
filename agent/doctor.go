package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchsh/latch/machineapi"
)

// DoctorOptions say where the doctor looks.
type DoctorOptions struct {
	StateDir      string
	IMDSAddr      string // the agent's loopback metadata service; "" for DefaultIMDSAddr
	EndpointsFile string // as for RunOptions
	// HTTPClient reaches the endpoints; nil for one trusting the system's roots and the
	// state's CA file, following no redirect.
	HTTPClient *http.Client
	// LookupHost resolves names; nil for the system's resolver.
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

// Check is one troubleshooting step's result. Fix says in plain words what to do when it
// failed.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Fix     string `json:"fix,omitempty"`
}

// doctor runs the checks in the article's order and keeps what later checks need.
type doctor struct {
	o      DoctorOptions
	imds   *http.Client
	hc     *http.Client
	prog   Progress
	tenant string
	checks []Check
}

// Doctor runs the article's troubleshooting steps for the login extension against this
// machine: the metadata service's instance and identity answers, a registration token whose
// oid is the VM's identity, reachability of each endpoint and resolution of its name. It
// fails only when the state directory cannot be read; failed checks are in the result.
func Doctor(ctx context.Context, o DoctorOptions) ([]Check, error) {
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.IMDSAddr == "" {
		o.IMDSAddr = DefaultIMDSAddr
	}
	if o.LookupHost == nil {
		o.LookupHost = net.DefaultResolver.LookupHost
	}
	st, err := readState(o.StateDir)
	if err != nil {
		return nil, err
	}
	d := &doctor{o: o, imds: &http.Client{Timeout: 10 * time.Second}, hc: o.HTTPClient}
	if d.hc == nil {
		if d.hc, err = newHTTPClient(st.CAFile); err != nil {
			return nil, err
		}
		d.hc.Timeout = 10 * time.Second
	}
	if d.prog, err = loadProgress(o.StateDir); err != nil {
		return nil, err
	}
	d.checkInstance(ctx)
	d.checkIdentity(ctx)
	d.checkToken(ctx)
	d.checkEndpoints(ctx)
	return d.checks, nil
}

// readState reads state.json without the key: the doctor and status sign nothing.
func readState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("agent: this machine is not connected (no %s in %s); run 'latch agent connect' first", stateFile, dir)
	}
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return st, fmt.Errorf("agent: reading %s: %w", stateFile, err)
	}
	return st, nil
}

func (d *doctor) add(c Check) { d.checks = append(d.checks, c) }

func (d *doctor) imdsBase() string { return "http://" + d.o.IMDSAddr }

func (d *doctor) checkInstance(ctx context.Context) {
	const name = "IMDS instance (/metadata/instance?api-version=2017-08-01)"
	var inst struct {
		Compute struct{ Name, VMID string } `json:"compute"`
	}
	err := imdsGetJSON(ctx, d.imds, d.imdsBase(), "/metadata/instance?api-version=2017-08-01", &inst)
	if err == nil && inst.Compute.Name == "" {
		err = errors.New("the answer does not name the VM")
	}
	if err != nil {
		d.add(Check{Name: name, Detail: err.Error(), Fix: "The agent's metadata service does not answer on " + d.o.IMDSAddr +
			". Start the agent (systemctl start latch-agent, or latch agent run) and read its log; if it runs on another address, pass --imds-addr."})
		return
	}
	d.add(Check{Name: name, OK: true, Detail: "VM " + inst.Compute.Name + ", vmId " + inst.Compute.VMID})
}

func (d *doctor) checkIdentity(ctx context.Context) {
	const name = "IMDS identity (/metadata/identity/info?api-version=2018-02-01)"
	var info struct {
		TenantID string `json:"tenantId"`
	}
	err := imdsGetJSON(ctx, d.imds, d.imdsBase(), "/metadata/identity/info?api-version=2018-02-01", &info)
	switch {
	case noIdentity(err):
		d.add(Check{Name: name, Detail: "the VM has no system-assigned managed identity (this is error 1007, DSREG_E_MSI_TENANTID_UNAVAILABLE)",
			Fix: hintNoIdentity})
	case err != nil:
		d.add(Check{Name: name, Detail: err.Error(), Fix: "The metadata service could not say the VM's tenant; make sure the agent runs and reaches the control plane (latch agent status shows the last contact)."})
	case info.TenantID == "":
		d.add(Check{Name: name, Detail: "the answer has no tenant id", Fix: hintNoIdentity})
	default:
		d.tenant = info.TenantID
		d.add(Check{Name: name, OK: true, Detail: "tenant " + info.TenantID})
	}
}

func (d *doctor) checkToken(ctx context.Context) {
	const name = "IMDS token for " + machineapi.RegistrationResource
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {machineapi.RegistrationResource}}
	err := imdsGetJSON(ctx, d.imds, d.imdsBase(), "/metadata/identity/oauth2/token?"+q.Encode(), &tok)
	if err != nil {
		fix := "The metadata service gave no token for device registration; check the identity above and the agent's log."
		if noIdentity(err) {
			fix = hintNoIdentity
		}
		d.add(Check{Name: name, Detail: err.Error(), Fix: fix})
		return
	}
	oid, err := jwtOID(tok.AccessToken)
	if err != nil {
		d.add(Check{Name: name, Detail: err.Error(), Fix: "The token is not a JWT; the control plane or the agent is misbehaving: read the agent's log."})
		return
	}
	var want string
	if g := d.prog.Goal; g != nil && g.Identity != nil {
		want = g.Identity.PrincipalID
	}
	switch {
	case want == "":
		d.add(Check{Name: name, OK: true, Detail: "oid " + oid + " (not compared: no goal state names the VM's identity yet)"})
	case oid != want:
		d.add(Check{Name: name, Detail: "the token's oid " + oid + " is not the VM's identity " + want,
			Fix: "The token belongs to another identity. Restart the agent so it forgets cached tokens, and check the VM's identity (latch vm identity show)."})
	default:
		d.add(Check{Name: name, OK: true, Detail: "oid " + oid + " is the VM's identity"})
	}
}

// jwtOID reads the oid claim of a JWT without verifying it: the check is whose token the
// metadata service hands out, not whether it is genuine.
func jwtOID(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || len(raw) > 16<<10 {
		return "", errors.New("the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		OID string `json:"oid"`
	}
	if err == nil {
		err = json.Unmarshal(b, &claims)
	}
	if err != nil || claims.OID == "" {
		return "", errors.New("the access token has no readable oid claim")
	}
	return claims.OID, nil
}

// doctorEndpoint is one endpoint the article says to try, by name.
type doctorEndpoint struct{ name, url string }

func (d *doctor) endpoints() ([]doctorEndpoint, error) {
	override, err := LoadEndpointOverride(d.o.StateDir, d.o.EndpointsFile)
	if err != nil {
		return nil, err
	}
	var base machineapi.Endpoints
	if d.prog.Goal != nil {
		base = d.prog.Goal.Endpoints
	}
	ep := mergeEndpoints(base, override)
	if ep == (machineapi.Endpoints{}) {
		return nil, errors.New("no goal state has been received yet, so the endpoints are unknown")
	}
	out := []doctorEndpoint{{"Login", ep.Login}}
	if d.tenant != "" && ep.Login != "" {
		out = append(out, doctorEndpoint{"Login/<tenant>/", strings.TrimRight(ep.Login, "/") + "/" + d.tenant + "/"})
	}
	return append(out, doctorEndpoint{"Registration", ep.Registration}, doctorEndpoint{"Device", ep.Device},
		doctorEndpoint{"Access", ep.Access}), nil
}

func (d *doctor) checkEndpoints(ctx context.Context) {
	eps, err := d.endpoints()
	if err != nil {
		d.add(Check{Name: "endpoints", Detail: err.Error(),
			Fix: "Run the agent (latch agent run) until it has heard from the control plane, or fix the endpoints file."})
		return
	}
	for _, e := range eps {
		d.checkReachable(ctx, e)
	}
	seen := map[string]bool{}
	for _, e := range eps {
		if u, err := url.Parse(e.url); err == nil && u.Hostname() != "" && !seen[u.Hostname()] {
			seen[u.Hostname()] = true
			d.checkDNS(ctx, u.Hostname())
		}
	}
}

// checkReachable counts any HTTP answer as reachable: the article expects 404 from several.
func (d *doctor) checkReachable(ctx context.Context, e doctorEndpoint) {
	name := "reach " + e.name + " " + e.url
	if e.url == "" {
		d.add(Check{Name: "reach " + e.name, Skipped: true, OK: true, Detail: "not set in the goal state"})
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url, nil)
	if err != nil {
		d.add(Check{Name: name, Detail: err.Error(), Fix: "The endpoint is not a valid URL; fix the endpoints file or the control plane's configuration."})
		return
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		d.add(Check{Name: name, Detail: err.Error(), Fix: "This machine cannot reach " + e.url +
			". Check firewalls, proxies and routes between the machine and that host, and whether its name resolves (see the DNS checks below)."})
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	detail := fmt.Sprintf("answered %d", resp.StatusCode)
	if resp.StatusCode == http.StatusNotFound {
		detail += " (expected; the endpoint is reachable)"
	}
	d.add(Check{Name: name, OK: true, Detail: detail})
}

func (d *doctor) checkDNS(ctx context.Context, host string) {
	name := "resolve " + host
	if _, err := netip.ParseAddr(host); err == nil {
		d.add(Check{Name: name, OK: true, Skipped: true, Detail: "an IP address; nothing to resolve"})
		return
	}
	addrs, err := d.o.LookupHost(ctx, host)
	if err != nil || len(addrs) == 0 {
		d.add(Check{Name: name, Detail: fmt.Sprintf("could not resolve %s: %v", host, err),
			Fix: "Find which DNS server the machine uses (nslookup " + host + "), try another one (nslookup " + host +
				" 208.67.222.222), and if that works, change the DNS server the machine's network assigns."})
		return
	}
	d.add(Check{Name: name, OK: true, Detail: strings.Join(addrs, ", ")})
}

// WriteChecks prints one line per check, OK, SKIP or FAIL, with what to do under each
// failure, and returns how many failed.
func WriteChecks(w io.Writer, checks []Check) (failed int, err error) {
	var b strings.Builder
	for _, c := range checks {
		mark := "OK  "
		switch {
		case c.Skipped:
			mark = "SKIP"
		case !c.OK:
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(&b, "%s %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(&b, ": %s", c.Detail)
		}
		b.WriteString("\n")
		if !c.OK && c.Fix != "" {
			fmt.Fprintf(&b, "     fix: %s\n", c.Fix)
		}
	}
	_, err = io.WriteString(w, b.String())
	return failed, err
}
