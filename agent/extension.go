package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
)

// The login extensions this agent runs, with the publishers resource/extension.go names.
// Publishers and types compare without regard to case, as Azure's do.
var loginExtensions = []struct{ publisher, typ, goos string }{
	{"Microsoft.Azure.ActiveDirectory", "AADSSHLoginForLinux", "linux"},
	{"Microsoft.Azure.ActiveDirectory", "AADLoginForWindows", "windows"},
	// LatchLogin runs wherever the agent does.
	{"Latch.Identity", "LatchLogin", ""},
}

// Messages of the article for the failures it names.
const (
	msgUnsupportedOS = "This extension is not supported on the VM's operating system."
	hintNoIdentity   = "The VM needs a system-assigned managed identity: turn it on in the VM's Identity pane, " +
		"or run 'latch vm identity assign -g <group> -n <vm>', then set the extension again."
	hintUnreachable = "Check that the machine can reach the endpoint (firewall, proxy, routes) and resolve its " +
		"name (nslookup <host>; if that fails, try another DNS server); 'latch agent doctor' runs these checks."
)

// codeFailed is the exit code of a failure the article gives no number for.
const codeFailed = 1

// stepFailure is a failed step's code and message.
type stepFailure struct {
	code int
	msg  string
}

func (s *stepFailure) Error() string { return s.msg }

// supportedOS reports whether ext runs on goos; ok is false for an extension this agent
// does not know.
func supportedOS(ext machineapi.Extension, goos string) (supported, known bool) {
	for _, l := range loginExtensions {
		if strings.EqualFold(l.publisher, ext.Publisher) && strings.EqualFold(l.typ, ext.Type) {
			return l.goos == "" || l.goos == goos, true
		}
	}
	return false, false
}

// runExtension applies one login extension: OS, tenant, device registration, login
// configuration, each step reported when it is done. It returns the final status, which is
// recorded and sent.
func (f *Follower) runExtension(ctx context.Context, gs machineapi.GoalState, ext machineapi.Extension, ep machineapi.Endpoints) machineapi.ExtensionStatus {
	state := machineapi.ProvisioningCreating
	if rec := f.prog.Extensions[ext.Name]; rec != nil && rec.Done != "" && rec.Deleted == "" {
		state = machineapi.ProvisioningUpdating
	}
	f.log.Info("applying extension", "name", ext.Name, "type", ext.Type, "generation", ext.Generation)
	if err := f.report(ctx, ext.Name, machineapi.ExtensionStatus{Generation: ext.Generation, ProvisioningState: state}); err != nil {
		f.noteError("report", err)
	}
	steps, err := f.extensionSteps(ctx, gs, ext, ep)
	if ctx.Err() != nil {
		// Stopped half-way: nothing is recorded, so the next run does it again.
		return machineapi.ExtensionStatus{}
	}
	st := machineapi.ExtensionStatus{Generation: ext.Generation, ProvisioningState: machineapi.ProvisioningSucceeded, Steps: steps}
	var sf *stepFailure
	if errors.As(err, &sf) {
		st.ProvisioningState, st.Code, st.Message = machineapi.ProvisioningFailed, sf.code, sf.msg
		f.log.Warn("extension failed", "name", ext.Name, "code", sf.code, "message", sf.msg)
	}
	f.finish(ctx, ext, st)
	return st
}

// extensionSteps does the steps in order and says which were done; the error is a
// *stepFailure.
func (f *Follower) extensionSteps(ctx context.Context, gs machineapi.GoalState, ext machineapi.Extension, ep machineapi.Endpoints) ([]string, error) {
	var steps []string
	ok, known := supportedOS(ext, f.goos)
	if !known {
		return steps, f.fail("os", codeFailed, fmt.Sprintf("This agent does not run the extension %s.%s.", ext.Publisher, ext.Type))
	}
	if !ok {
		return steps, f.fail("os", machineapi.CodeUnsupportedOS, msgUnsupportedOS)
	}
	steps = append(steps, "os: "+f.goos+" is supported")
	tenant, err := f.imdsTenant(ctx)
	if err != nil {
		return steps, f.fail("tenant", machineapi.CodeTenantUnavailable, fmt.Sprintf(
			"Terminal error code %d and exit code %d (DSREG_E_MSI_TENANTID_UNAVAILABLE): the tenant could not be read from the instance metadata service (%v). %s",
			machineapi.CodeTenantUnavailable, machineapi.ExitTenantUnavailable, err, hintNoIdentity))
	}
	steps = append(steps, "tenant: "+tenant+" from the instance metadata service")
	dev, note, err := f.join(ctx, ep, tenant, f.displayName(gs))
	if err != nil {
		return steps, f.joinFailure(err)
	}
	steps = append(steps, note+": device "+dev.DeviceID)
	if err := f.applyLogin(ctx, gs); err != nil {
		return steps, err
	}
	return append(steps, fmt.Sprintf("login: %d users may log in", len(gs.Login.Users))), nil
}

// applyLogin hands the goal state's login configuration to the login setup.
func (f *Follower) applyLogin(ctx context.Context, gs machineapi.GoalState) error {
	switch {
	case f.login == nil:
		return f.fail("login", codeFailed, "this agent was started without login configuration")
	case gs.Login == nil:
		return f.fail("login", codeFailed, "the goal state carries no login configuration for this machine")
	}
	if err := f.login.Apply(ctx, f.c.State(), gs.Login); err != nil {
		return f.fail("login", codeFailed, "configuring logins failed: "+err.Error())
	}
	return nil
}

// fail records a step's failure and returns it as a *stepFailure.
func (f *Follower) fail(step string, code int, msg string) error {
	sf := &stepFailure{code: code, msg: msg}
	f.noteError(step, sf)
	return sf
}

// joinFailure says why registration failed: unreachable is the article's
// DSREG_AUTOJOIN_DISC_FAILED; a refusal by the service is its own answer.
func (f *Follower) joinFailure(err error) error {
	var un *unreachableError
	var api *APIError
	switch {
	case errors.As(err, &un):
		return f.fail("device", machineapi.ExitDiscoveryFailed, fmt.Sprintf(
			"Exit code %d (DSREG_AUTOJOIN_DISC_FAILED): the device registration endpoint %s could not be reached: %v. %s",
			machineapi.ExitDiscoveryFailed, un.endpoint, un.err, hintUnreachable))
	case errors.As(err, &api):
		return f.fail("device", api.Status, fmt.Sprintf("The device registration service refused the join: %d %s: %s",
			api.Status, api.Code, api.Message))
	}
	return f.fail("device", codeFailed, "Device registration failed: "+err.Error())
}

// displayName is the device's name in the directory: the host name, else the VM's name.
func (f *Follower) displayName(gs machineapi.GoalState) string {
	if h, err := f.hostname(); err == nil && h != "" {
		return h
	}
	return gs.VMName
}

// undo reverses a login extension the control plane is deleting: the login setup, then the
// device (unless another login extension still needs it), then reports Deleted.
func (f *Follower) undo(ctx context.Context, gs machineapi.GoalState, ext machineapi.Extension, ep machineapi.Endpoints) {
	f.log.Info("removing extension", "name", ext.Name, "generation", ext.Generation)
	if err := f.report(ctx, ext.Name, machineapi.ExtensionStatus{Generation: ext.Generation, ProvisioningState: machineapi.ProvisioningDeleting}); err != nil {
		f.noteError("report", err)
	}
	steps, err := f.undoSteps(ctx, gs, ext, ep)
	if ctx.Err() != nil {
		return
	}
	st := machineapi.ExtensionStatus{Generation: ext.Generation, ProvisioningState: machineapi.ProvisioningDeleted, Steps: steps}
	var sf *stepFailure
	if errors.As(err, &sf) {
		st.ProvisioningState, st.Code, st.Message = machineapi.ProvisioningFailed, sf.code, sf.msg
		f.finish(ctx, machineapi.Extension{Name: ext.Name, Publisher: ext.Publisher, Type: ext.Type, Generation: f.doneGeneration(ext.Name)}, st)
		return
	}
	f.finish(ctx, ext, st)
}

// doneGeneration is the generation last applied of name, kept when an undo fails so that the
// failed removal is retried only when the extension is set or deleted again.
func (f *Follower) doneGeneration(name string) string {
	if rec := f.prog.Extensions[name]; rec != nil {
		return rec.Done
	}
	return ""
}

func (f *Follower) undoSteps(ctx context.Context, gs machineapi.GoalState, ext machineapi.Extension, ep machineapi.Endpoints) ([]string, error) {
	var steps []string
	if otherLoginActive(gs, ext.Name, f.prog) {
		return append(steps, "another login extension is active: login configuration and device kept"), nil
	}
	if f.login != nil {
		if err := f.login.Remove(ctx); err != nil {
			return steps, f.fail("login", codeFailed, "restoring the login configuration failed: "+err.Error())
		}
		steps = append(steps, "login: configuration removed")
	}
	note, err := f.leave(ctx, gs, ep)
	if err != nil {
		var un *unreachableError
		if errors.As(err, &un) {
			return steps, f.fail("device", machineapi.ExitDiscoveryFailed, fmt.Sprintf(
				"Exit code %d (DSREG_AUTOJOIN_DISC_FAILED): the device registration endpoint %s could not be reached to leave: %v. %s",
				machineapi.ExitDiscoveryFailed, un.endpoint, un.err, hintUnreachable))
		}
		return steps, f.fail("device", codeFailed, "leaving the directory failed: "+err.Error())
	}
	return append(steps, note), nil
}

// imdsTenant reads the tenant of the VM's system-assigned identity from the agent's own
// metadata service, as the extension does on Azure.
func (f *Follower) imdsTenant(ctx context.Context) (string, error) {
	var out struct {
		TenantID string `json:"tenantId"`
	}
	if err := f.imdsGet(ctx, "/metadata/identity/info?api-version=2018-02-01", &out); err != nil {
		return "", err
	}
	if out.TenantID == "" {
		return "", errors.New("the answer has no tenantId")
	}
	return out.TenantID, nil
}

// imdsToken gets a managed-identity token for resource from the agent's metadata service.
func (f *Follower) imdsToken(ctx context.Context, resource string) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}
	if err := f.imdsGet(ctx, "/metadata/identity/oauth2/token?"+q.Encode(), &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", errors.New("the answer has no access_token")
	}
	return out.AccessToken, nil
}

// imdsError is a refusal of the metadata service.
type imdsError struct {
	status int
	body   string
}

func (e *imdsError) Error() string {
	return fmt.Sprintf("the metadata service answered %d: %s", e.status, e.body)
}

// noIdentity reports whether err says the VM has no managed identity.
func noIdentity(err error) bool {
	var ie *imdsError
	return errors.As(err, &ie) && ie.status == http.StatusBadRequest && strings.Contains(ie.body, "Identity not found")
}

// imdsGet is one metadata-service request with Metadata: true, decoding a 200 into out.
func (f *Follower) imdsGet(ctx context.Context, path string, out any) error {
	return imdsGetJSON(ctx, f.imdsHTTP, f.imdsURL, path, out)
}

func imdsGetJSON(ctx context.Context, hc *http.Client, base, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Metadata", "true")
	resp, err := hc.Do(req)
	if err != nil {
		return errs.E("agent.imds", errs.Unavailable, "the instance metadata service at "+base+" did not answer", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &imdsError{status: resp.StatusCode, body: strings.TrimSpace(string(body))}
	}
	return json.Unmarshal(body, out)
}
