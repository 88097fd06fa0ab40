package httpapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// Setting and deleting an extension are long-running operations: the machine's agent applies
// or undoes the extension and reports back. The status resource names the extension, the
// generation and the kind of operation, so it needs no record of its own. A set is Succeeded
// or Failed as the machine reported; a delete is Succeeded once the extension is gone, Failed
// when the agent could not undo it. Either is Canceled when a newer PUT (a new generation)
// or, for a set, a delete overtook it. Clients that poll the resource instead (body polling)
// see the same through its provisioningState.

// opAPIVersion is the api-version the status URL carries; Latch answers every version alike.
const opAPIVersion = "2022-11-01"

// Operation kinds in a status URL.
const (
	opKindSet    = "set"
	opKindDelete = "delete"
)

// operationPath is the status URL path of operation kind on extension extID at generation gen.
func operationPath(extID, location, gen, kind string) string {
	sub := ""
	if segs := pathSegments(extID); len(segs) > 1 {
		sub = segs[1]
	}
	op := base64.RawURLEncoding.EncodeToString([]byte(extID + "|" + gen + "|" + kind))
	return "/subscriptions/" + sub + "/providers/Microsoft.Compute/locations/" + location + "/operations/" + op +
		"?api-version=" + opAPIVersion
}

// parseOperationID reads what operationPath wrote: the extension's id, generation and the
// operation's kind. Anything else is NotFound.
func parseOperationID(op string) (extID, gen, kind string, err error) {
	bad := errs.E("httpapi.parseOperationID", errs.NotFound, errs.Code("OperationNotFound"), "The operation '"+truncate(op, 100)+"' was not found.")
	if len(op) > 2048 {
		return "", "", "", bad
	}
	raw, derr := base64.RawURLEncoding.DecodeString(op)
	if derr != nil {
		return "", "", "", bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 || parts[2] != opKindSet && parts[2] != opKindDelete || !strings.Contains(strings.ToLower(parts[0]), "/extensions/") {
		return "", "", "", bad
	}
	if _, err := scopeOf(parts[0]); err != nil {
		return "", "", "", bad
	}
	return parts[0], parts[1], parts[2], nil
}

// getExtensionOperation answers ARM's operation status for setting or deleting an extension.
// Reading it needs what reading the VM needs.
func getExtensionOperation(q *armRequest) (int, any, error) {
	sub, err := q.subscription()
	if err != nil {
		return 0, nil, err
	}
	extID, gen, kind, err := parseOperationID(q.vars["op"])
	if err != nil {
		return 0, nil, err
	}
	vmID := extID[:strings.LastIndex(strings.ToLower(extID), "/extensions/")]
	if segs := pathSegments(extID); len(segs) < 2 || !strings.EqualFold(segs[1], sub.ID) {
		return 0, nil, errs.E("httpapi.getExtensionOperation", errs.NotFound, errs.Code("OperationNotFound"), "The operation was not found in this subscription.")
	}
	q.resourceID = vmID
	if err := q.authz.require(opVMRead, scopeOrZero(vmID)); err != nil {
		return 0, nil, err
	}
	e, err := q.s.Store.GetResource(q.ctx, q.tenantID(), extID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return 0, nil, err
	}
	var p *resource.ExtensionProperties
	if err == nil {
		ep, err := resource.ParseExtensionProperties(e.Properties)
		if err != nil {
			return 0, nil, err
		}
		p = &ep
	}
	out := operationStatus(kind, gen, p)
	if out["status"] == "InProgress" {
		q.header.Set("Retry-After", pollSeconds)
	}
	out["name"] = q.vars["op"]
	return http.StatusOK, out, nil
}

// operationStatus is the status of operation kind at generation gen, given the extension as
// it is now (nil when it is gone).
func operationStatus(kind, gen string, p *resource.ExtensionProperties) map[string]any {
	canceled := map[string]any{"status": "Canceled", "error": map[string]string{"code": "OperationCanceled",
		"message": "The extension was set again or deleted before this operation finished."}}
	switch {
	case p == nil && kind == opKindDelete:
		return map[string]any{"status": "Succeeded"}
	case p == nil || p.Generation() != gen || kind == opKindSet && p.Deleting():
		return canceled
	case p.ProvisioningState == resource.ProvisioningFailed:
		code, msg := failureOf(*p)
		return map[string]any{"status": "Failed", "error": map[string]string{"code": code, "message": msg}}
	case kind == opKindSet && p.ProvisioningState == resource.ProvisioningSucceeded:
		return map[string]any{"status": "Succeeded"}
	case kind == opKindDelete && !p.Deleting():
		return canceled
	}
	return map[string]any{"status": "InProgress"}
}

// failureOf is the ARM error a failed extension reports, in Azure's words, with the code and
// message from its instance view.
func failureOf(p resource.ExtensionProperties) (string, string) {
	code, msg := "", "The machine reported a failure."
	if p.InstanceView != nil {
		for _, st := range p.InstanceView.Statuses {
			if st.Level == "Error" {
				code, msg = st.Code, st.Message
			}
		}
	}
	return "VMExtensionProvisioningError", fmt.Sprintf("VM has reported a failure when processing extension '%s' (publisher '%s' and type '%s'). "+
		"Error code: '%s'. Error message: '%s'.", extName(p), p.Publisher, p.Type, code, msg)
}

func extName(p resource.ExtensionProperties) string {
	if p.InstanceView != nil && p.InstanceView.Name != "" {
		return p.InstanceView.Name
	}
	return p.Type
}
