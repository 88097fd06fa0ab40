package httpapi

import (
	"net/http"
	"sort"

	"github.com/latchsh/latch/errs"
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
	return http.StatusOK, extensionJSON(e), err
}

// putExtension records the extension with provisioningState Succeeded and answers 200, so
// that az's long-running-operation loop ends at once. The machine's agent applies it.
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
	ext := resource.Resource{TenantID: q.tenantID(), ID: extID, Type: resource.TypeVMExtension, Name: q.vars["ext"],
		Location: b.Location, Tags: b.Tags, CreatedBy: q.caller.ObjectID, Properties: resource.Raw(props)}
	err = q.s.Store.CreateResource(q.ctx, ext)
	if errs.Is(err, errs.Exists) {
		ext, err = q.s.Store.UpdateResource(q.ctx, q.tenantID(), extID, func(r resource.Resource) (resource.Resource, error) {
			r.Location, r.Tags, r.Properties = ext.Location, ext.Tags, ext.Properties
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
	return http.StatusOK, extensionJSON(stored), err
}

func deleteExtension(q *armRequest) (int, any, error) {
	_, extID, err := q.extensionPath(opExtDelete)
	if err != nil {
		return 0, nil, err
	}
	err = q.s.Store.DeleteResource(q.ctx, q.tenantID(), extID)
	if errs.Is(err, errs.NotFound) {
		return http.StatusNoContent, nil, nil
	}
	return http.StatusOK, nil, err
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
