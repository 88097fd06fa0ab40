package httpapi

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
)

// extensionPath checks the names in the path, authorizes action on the extension, and returns
// the machine's id and the extension's.
func (q *armRequest) extensionPath(action string) (vmID, extID string, err error) {
	sub, err := q.subscription()
	if err != nil {
		return "", "", err
	}
	vmID, _, err = q.vmPath(sub)
	if err != nil {
		return "", "", err
	}
	if err := resource.ValidateExtensionName(q.vars["ext"]); err != nil {
		return "", "", err
	}
	extID = resource.ChildID(vmID, "extensions", q.vars["ext"])
	q.resourceID = extID
	return vmID, extID, q.authz.require(action, scopeOrZero(extID))
}

func parentNotFound(vm string) error {
	return errs.E("httpapi.extension", errs.NotFound, errs.Code("ParentResourceNotFound"),
		"Can not perform requested operation on nested resource. Parent resource '"+truncate(vm, 100)+"' not found.")
}

func getExtension(q *armRequest) (int, any, error) {
	_, extID, err := q.extensionPath(opExtRead)
	if err != nil {
		return 0, nil, err
	}
	e, err := q.s.Store.GetResource(q.ctx, q.tenantID(), extID)
	if errs.Is(err, errs.NotFound) {
		return 0, nil, resourceNotFound(resource.TypeVMExtension, q.vars["vm"]+"/"+q.vars["ext"], q.vars["rg"])
	}
	if err != nil {
		return 0, nil, err
	}
	q.retryAfterUnlessTerminal(e)
	return http.StatusOK, extensionJSON(e), nil
}

// pollSeconds is the Retry-After an operation in progress asks clients to wait: the agent
// usually answers within seconds, and az would otherwise wait its default 30.
const pollSeconds = "2"

// retryAfterUnlessTerminal asks pollers to come back soon while the extension is in progress.
func (q *armRequest) retryAfterUnlessTerminal(e resource.Resource) {
	if p, err := resource.ParseExtensionProperties(e.Properties); err == nil && !p.Terminal() {
		q.header.Set("Retry-After", pollSeconds)
	}
}

// putExtension records the extension as Creating (201) or Updating (200) with a new
// generation and answers at once, with an Azure-AsyncOperation status to follow, as ARM does;
// the machine's agent applies it and reports back, which makes it Succeeded or Failed.
// Without an onboarded machine the extension stays Creating, and its instance view says how
// to onboard one.
func putExtension(q *armRequest) (int, any, error) {
	vmID, extID, err := q.extensionPath(opExtWrite)
	if err != nil {
		return 0, nil, err
	}
	var b resourceBody
	if err := readJSON(q.r, &b); err != nil {
		return 0, nil, err
	}
	vm, err := q.s.Store.GetResource(q.ctx, q.tenantID(), vmID)
	if errs.Is(err, errs.NotFound) {
		return 0, nil, parentNotFound(q.vars["vm"])
	}
	if err != nil {
		return 0, nil, err
	}
	if b.Location == "" {
		b.Location = vm.Location
	}
	if err := checkResourceBody(&b); err != nil {
		return 0, nil, err
	}
	props, err := resource.ParseExtensionRequest(b.Properties)
	if err != nil {
		return 0, nil, err
	}
	onboarded, err := q.s.vmOnboarded(q.ctx, q.tenantID(), vmID)
	if err != nil {
		return 0, nil, err
	}
	props.Latch = &resource.ExtensionLatch{Generation: newID(), State: machineapi.ExtensionEnabled}
	props.InstanceView = pendingView(q.vars["ext"], props, onboarded, q.s.now())
	ext := resource.Resource{TenantID: q.tenantID(), ID: extID, Type: resource.TypeVMExtension, Name: q.vars["ext"],
		Location: b.Location, Tags: b.Tags, CreatedBy: q.caller.ObjectID, Properties: resource.Raw(props)}
	status := http.StatusCreated
	err = q.s.Store.CreateResource(q.ctx, ext)
	if errs.Is(err, errs.Exists) {
		status = http.StatusOK
		props.ProvisioningState = resource.ProvisioningUpdating
		props.InstanceView = pendingView(q.vars["ext"], props, onboarded, q.s.now())
		ext, err = q.s.Store.UpdateResource(q.ctx, q.tenantID(), extID, func(r resource.Resource) (resource.Resource, error) {
			r.Location, r.Tags, r.Properties = ext.Location, ext.Tags, resource.Raw(props)
			return r, nil
		})
	}
	if errs.Is(err, errs.NotFound) {
		return 0, nil, parentNotFound(q.vars["vm"])
	}
	if err != nil {
		return 0, nil, err
	}
	stored, err := q.s.Store.GetResource(q.ctx, q.tenantID(), extID)
	if err != nil {
		return 0, nil, err
	}
	q.header.Set("Azure-AsyncOperation", q.s.URL+operationPath(stored.ID, stored.Location, props.Latch.Generation, opKindSet))
	q.retryAfterUnlessTerminal(stored)
	return status, extensionJSON(stored), nil
}

// vmOnboarded reports whether any machine was onboarded as the VM.
func (s *Server) vmOnboarded(ctx context.Context, tenantID, vmID string) (bool, error) {
	ms, err := s.Store.ListMachines(ctx, tenantID, vmID)
	return len(ms) > 0, err
}

// notOnboardedMessage is what an extension waiting for a machine says.
const notOnboardedMessage = "No machine has connected as this virtual machine yet, so the extension waits. Run the " +
	"onboarding command that 'latch vm create' printed (latch agent connect --server ... --token ...) on the machine; " +
	"the extension is applied as soon as its agent connects."

// pendingView is the instance view of an extension the machine has not reported on yet.
func pendingView(name string, p resource.ExtensionProperties, onboarded bool, now time.Time) *resource.ExtensionInstanceView {
	t := now.UTC()
	st := resource.InstanceStatus{Code: "ProvisioningState/" + strings.ToLower(p.ProvisioningState), Level: "Info",
		DisplayStatus: "Provisioning in progress", Message: "Waiting for the machine's agent to apply the extension.", Time: &t}
	if p.ProvisioningState == resource.ProvisioningDeleting {
		st.DisplayStatus, st.Message = "Deleting", "Waiting for the machine's agent to remove the extension."
	}
	if !onboarded {
		st.Level, st.DisplayStatus, st.Message = "Warning", "Machine not onboarded", notOnboardedMessage
	}
	return &resource.ExtensionInstanceView{Name: name, Type: p.Publisher + "." + p.Type, TypeHandlerVersion: p.TypeHandlerVersion,
		Statuses: []resource.InstanceStatus{st}}
}

// deleteExtension deletes at once when no machine was onboarded as the VM (there is nothing
// to undo); otherwise it marks the extension Deleting and answers 202 with an
// Azure-AsyncOperation status that ends when the machine reports the extension removed.
func deleteExtension(q *armRequest) (int, any, error) {
	vmID, extID, err := q.extensionPath(opExtDelete)
	if err != nil {
		return 0, nil, err
	}
	e, err := q.s.Store.GetResource(q.ctx, q.tenantID(), extID)
	if errs.Is(err, errs.NotFound) {
		return http.StatusNoContent, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	onboarded, err := q.s.vmOnboarded(q.ctx, q.tenantID(), vmID)
	if err != nil {
		return 0, nil, err
	}
	if !onboarded {
		err = q.s.Store.DeleteResource(q.ctx, q.tenantID(), extID)
		if errs.Is(err, errs.NotFound) {
			return http.StatusNoContent, nil, nil
		}
		return http.StatusOK, nil, err
	}
	up, err := q.s.Store.UpdateResource(q.ctx, q.tenantID(), extID, func(r resource.Resource) (resource.Resource, error) {
		p, err := resource.ParseExtensionProperties(r.Properties)
		if err != nil {
			return r, err
		}
		if p.Latch == nil {
			p.Latch = &resource.ExtensionLatch{Generation: newID()}
		}
		p.Latch.State, p.ProvisioningState = machineapi.ExtensionDeleting, resource.ProvisioningDeleting
		p.InstanceView = pendingView(r.Name, p, true, q.s.now())
		r.Properties = resource.Raw(p)
		return r, nil
	})
	if errs.Is(err, errs.NotFound) {
		return http.StatusNoContent, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	p, _ := resource.ParseExtensionProperties(up.Properties)
	q.header.Set("Azure-AsyncOperation", q.s.URL+operationPath(e.ID, e.Location, p.Generation(), opKindDelete))
	q.header.Set("Retry-After", pollSeconds)
	return http.StatusAccepted, nil, nil
}

func listExtensions(q *armRequest) (int, any, error) {
	sub, err := q.subscription()
	if err != nil {
		return 0, nil, err
	}
	vmID, sc, err := q.vmPath(sub)
	if err != nil {
		return 0, nil, err
	}
	if err := q.authz.require(opExtRead, sc); err != nil {
		return 0, nil, err
	}
	if _, err := q.s.Store.GetResource(q.ctx, q.tenantID(), vmID); errs.Is(err, errs.NotFound) {
		return 0, nil, parentNotFound(q.vars["vm"])
	} else if err != nil {
		return 0, nil, err
	}
	exts, err := q.s.Store.ListResources(q.ctx, q.tenantID(), vmID, resource.TypeVMExtension)
	out := []any{}
	for _, e := range exts {
		out = append(out, extensionJSON(e))
	}
	return http.StatusOK, map[string]any{"value": out}, err
}

// The extension image endpoints answer plain arrays, as ARM's VirtualMachineExtensionImages
// operations do, listing what Latch's agent can apply.

// imagePrefix checks the subscription and location and authorizes reading the catalog.
func (q *armRequest) imagePrefix() (string, string, error) {
	sub, err := q.subscription()
	if err != nil {
		return "", "", err
	}
	loc, err := resource.NormalizeLocation(q.vars["loc"])
	if err != nil {
		return "", "", err
	}
	if err := q.authz.require(opExtImagesRead, scopeOrZero(sub.ARMID())); err != nil {
		return "", "", err
	}
	return "/Subscriptions/" + sub.ID + "/Providers/Microsoft.Compute/Locations/" + loc + "/Publishers/", loc, nil
}

func listExtensionPublishers(q *armRequest) (int, any, error) {
	prefix, loc, err := q.imagePrefix()
	if err != nil {
		return 0, nil, err
	}
	out := []any{}
	for _, p := range resource.ExtensionPublishers() {
		out = append(out, map[string]string{"name": p, "location": loc, "id": prefix + p})
	}
	return http.StatusOK, out, nil
}

func listExtensionTypes(q *armRequest) (int, any, error) {
	prefix, loc, err := q.imagePrefix()
	if err != nil {
		return 0, nil, err
	}
	out := []any{}
	for _, img := range resource.ExtensionTypes(q.vars["pub"]) {
		out = append(out, map[string]string{"name": img.Type, "location": loc,
			"id": prefix + img.Publisher + "/ArtifactTypes/VMExtension/Types/" + img.Type})
	}
	return http.StatusOK, out, nil
}

func listExtensionVersions(q *armRequest) (int, any, error) {
	prefix, loc, err := q.imagePrefix()
	if err != nil {
		return 0, nil, err
	}
	img, ok := resource.FindExtensionImage(q.vars["pub"], q.vars["type"])
	if !ok {
		return 0, nil, errs.E("httpapi.listExtensionVersions", errs.NotFound, errs.Code("NotFound"),
			"Artifact: VMExtension not found for publisher '"+truncate(q.vars["pub"], 100)+"' and type '"+truncate(q.vars["type"], 100)+"'.")
	}
	versions := append([]string(nil), img.Versions...)
	sort.Strings(versions)
	out := []any{}
	for _, v := range versions {
		out = append(out, map[string]string{"name": v, "location": loc,
			"id": prefix + img.Publisher + "/ArtifactTypes/VMExtension/Types/" + img.Type + "/Versions/" + v})
	}
	return http.StatusOK, out, nil
}
