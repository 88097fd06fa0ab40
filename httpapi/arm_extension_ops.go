package httpapi

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// An extension's deletion is a long-running operation: the machine's agent undoes the
// extension and reports it gone. Its status resource names the extension and the generation
// being deleted, so it needs no record of its own: the extension gone means Succeeded, Failed
// means the agent could not undo it, and a new generation (the extension was set again
// meanwhile) means the deletion was Canceled.

// opAPIVersion is the api-version the status URL carries; Latch answers every version alike.
const opAPIVersion = "2022-11-01"

// operationPath is the status URL path of deleting extension extID at generation gen.
func operationPath(extID, location, gen string) string {
	sub := ""
	if segs := pathSegments(extID); len(segs) > 1 {
		sub = segs[1]
	}
	op := base64.RawURLEncoding.EncodeToString([]byte(extID + "|" + gen))
	return "/subscriptions/" + sub + "/providers/Microsoft.Compute/locations/" + location + "/operations/" + op +
		"?api-version=" + opAPIVersion
}

// parseOperationID reads what operationPath wrote: the extension's id and generation.
func parseOperationID(op string) (extID, gen string, err error) {
	bad := errs.E("httpapi.parseOperationID", errs.NotFound, errs.Code("OperationNotFound"), "The operation '"+truncate(op, 100)+"' was not found.")
	if len(op) > 2048 {
		return "", "", bad
	}
	raw, derr := base64.RawURLEncoding.DecodeString(op)
	if derr != nil {
		return "", "", bad
	}
	extID, gen, ok := strings.Cut(string(raw), "|")
	if !ok || !strings.Contains(strings.ToLower(extID), "/extensions/") {
		return "", "", bad
	}
	if _, err := scopeOf(extID); err != nil {
		return "", "", bad
	}
	return extID, gen, nil
}

// getExtensionOperation answers ARM's operation status for an extension deletion. Reading it
// needs what reading the VM needs.
func getExtensionOperation(q *armRequest) (int, any, error) {
	sub, err := q.subscription()
	if err != nil {
		return 0, nil, err
	}
	extID, gen, err := parseOperationID(q.vars["op"])
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
	out := map[string]any{"name": q.vars["op"], "status": "Succeeded"}
	e, err := q.s.Store.GetResource(q.ctx, q.tenantID(), extID)
	if errs.Is(err, errs.NotFound) {
		return http.StatusOK, out, nil
	}
	if err != nil {
		return 0, nil, err
	}
	p, err := resource.ParseExtensionProperties(e.Properties)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case p.Generation() != gen || !p.Deleting() && p.ProvisioningState != resource.ProvisioningFailed:
		out["status"] = "Canceled"
		out["error"] = map[string]string{"code": "OperationCanceled", "message": "The extension was set again before its deletion finished."}
	case p.ProvisioningState == resource.ProvisioningFailed:
		code, msg := failureOf(p)
		out["status"], out["error"] = "Failed", map[string]string{"code": code, "message": msg}
	default:
		out["status"] = "InProgress"
		q.header.Set("Retry-After", pollSeconds)
	}
	return http.StatusOK, out, nil
}

// failureOf is the ARM error a failed extension reports, from its instance view.
func failureOf(p resource.ExtensionProperties) (string, string) {
	msg := "The machine reported a failure."
	if p.InstanceView != nil {
		for _, st := range p.InstanceView.Statuses {
			if st.Level == "Error" && st.Message != "" {
				msg = st.Message
			}
		}
	}
	return "VMExtensionProvisioningError", msg
}
