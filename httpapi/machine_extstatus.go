package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
)

// PUT /machines/extensions/{name}: the machine reports what became of one extension of its
// own VM. A report names the generation it answers; one for an older generation (the
// extension was set again, or deleted and set again, since) is refused with 409
// StaleGeneration and changes nothing, so a slow report cannot overwrite the outcome of a
// newer PUT. Succeeded and Failed end the operation the PUT started and are written to the
// activity log; Deleted (only while the extension is being deleted) removes the extension.
// Creating and Updating only refresh the message shown in the instance view.

// maxStatusMessage caps a reported message.
const maxStatusMessage = 2048

// machineExtensionStatus serves PUT /machines/extensions/{name}.
func (s *Server) machineExtensionStatus(w http.ResponseWriter, r *http.Request, m store.Machine) error {
	name := r.PathValue("name")
	if err := resource.ValidateExtensionName(name); err != nil {
		return err
	}
	var b machineapi.ExtensionStatus
	if err := readJSON(r, &b); err != nil {
		return err
	}
	b.Message = truncate(b.Message, maxStatusMessage)
	extID := resource.ChildID(m.ResourceID, "extensions", name)
	var err error
	switch b.ProvisioningState {
	case machineapi.ProvisioningDeleted:
		err = s.extensionRemoved(r.Context(), m, extID, b)
	case machineapi.ProvisioningSucceeded, machineapi.ProvisioningFailed, machineapi.ProvisioningCreating, machineapi.ProvisioningUpdating:
		err = s.extensionReported(r.Context(), m, extID, b)
	default:
		err = errs.E("httpapi.machineExtensionStatus", errs.Invalid, errs.Code("InvalidProvisioningState"), fmt.Sprintf(
			"The provisioning state '%s' cannot be reported; report Creating, Updating, Succeeded, Failed or Deleted.", truncate(b.ProvisioningState, 40)))
	}
	if err != nil {
		return err
	}
	s.changes.bump(m.TenantID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func extensionGone(name string) error {
	return errs.E("httpapi.extensionStatus", errs.NotFound, errs.Code("ExtensionNotFound"),
		"The virtual machine has no extension '"+truncate(name, 100)+"'.")
}

func staleGeneration(have, got string) error {
	return errs.E("httpapi.extensionStatus", errs.Conflict, errs.Code("StaleGeneration"), fmt.Sprintf(
		"The status is for generation '%s' of the extension, which is now at '%s'; it was ignored.", truncate(got, 64), have))
}

// checkReport refuses a report for another generation, and a state the extension is not in
// a position to reach.
func checkReport(p resource.ExtensionProperties, b machineapi.ExtensionStatus) error {
	if p.Generation() != b.Generation {
		return staleGeneration(p.Generation(), b.Generation)
	}
	deleting := p.Deleting()
	if b.ProvisioningState == machineapi.ProvisioningDeleted && !deleting ||
		deleting && b.ProvisioningState != machineapi.ProvisioningDeleted && b.ProvisioningState != machineapi.ProvisioningFailed {
		return errs.E("httpapi.extensionStatus", errs.Conflict, errs.Code("InvalidStateTransition"), fmt.Sprintf(
			"The extension is %s; '%s' cannot be reported for it now.", p.ProvisioningState, truncate(b.ProvisioningState, 40)))
	}
	return nil
}

// extensionReported records a Creating, Updating, Succeeded or Failed report.
func (s *Server) extensionReported(ctx context.Context, m store.Machine, extID string, b machineapi.ExtensionStatus) error {
	now := s.now().UTC()
	e, err := s.Store.UpdateResource(ctx, m.TenantID, extID, func(r resource.Resource) (resource.Resource, error) {
		p, err := resource.ParseExtensionProperties(r.Properties)
		if err != nil {
			return r, err
		}
		if err := checkReport(p, b); err != nil {
			return r, err
		}
		p.InstanceView = reportedView(r.Name, p, b, now)
		if b.ProvisioningState == machineapi.ProvisioningSucceeded || b.ProvisioningState == machineapi.ProvisioningFailed {
			p.ProvisioningState = b.ProvisioningState
		}
		r.Properties = resource.Raw(p)
		return r, nil
	})
	if errs.Is(err, errs.NotFound) {
		return extensionGone(resourceName(extID))
	}
	if err != nil {
		return err
	}
	if b.ProvisioningState == machineapi.ProvisioningSucceeded || b.ProvisioningState == machineapi.ProvisioningFailed {
		s.recordMachineActivity(ctx, m, e.ID, opExtWrite, b)
	}
	return nil
}

// extensionRemoved deletes an extension the machine has undone.
func (s *Server) extensionRemoved(ctx context.Context, m store.Machine, extID string, b machineapi.ExtensionStatus) error {
	e, err := s.Store.GetResource(ctx, m.TenantID, extID)
	if errs.Is(err, errs.NotFound) {
		return extensionGone(resourceName(extID))
	}
	if err != nil {
		return err
	}
	p, err := resource.ParseExtensionProperties(e.Properties)
	if err != nil {
		return err
	}
	if err := checkReport(p, b); err != nil {
		return err
	}
	if err := s.Store.DeleteResource(ctx, m.TenantID, e.ID); err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	s.recordMachineActivity(ctx, m, e.ID, opExtDelete, b)
	return nil
}

// reportedView is the instance view after a report: ARM's status code carries the state and
// the machine's code, e.g. ProvisioningState/failed/1007.
func reportedView(name string, p resource.ExtensionProperties, b machineapi.ExtensionStatus, now time.Time) *resource.ExtensionInstanceView {
	st := resource.InstanceStatus{Code: fmt.Sprintf("ProvisioningState/%s/%d", strings.ToLower(b.ProvisioningState), b.Code),
		Level: "Info", DisplayStatus: "Provisioning " + strings.ToLower(b.ProvisioningState), Message: b.Message, Time: &now}
	switch b.ProvisioningState {
	case machineapi.ProvisioningFailed:
		st.Level, st.DisplayStatus = "Error", "Provisioning failed"
	case machineapi.ProvisioningCreating, machineapi.ProvisioningUpdating:
		st.DisplayStatus = "Provisioning in progress"
	}
	return &resource.ExtensionInstanceView{Name: name, Type: p.Publisher + "." + p.Type, TypeHandlerVersion: p.TypeHandlerVersion,
		Statuses: []resource.InstanceStatus{st}}
}

// recordMachineActivity writes the outcome the machine reported to the activity log, as the
// completion of the write or delete that started it. The machine is the caller.
func (s *Server) recordMachineActivity(ctx context.Context, m store.Machine, extID, operation string, b machineapi.ExtensionStatus) {
	status := resource.ActivitySucceeded
	if b.ProvisioningState == machineapi.ProvisioningFailed {
		status = resource.ActivityFailed
	}
	e := resource.ActivityEntry{TenantID: m.TenantID, ID: newID(), Time: s.now().UTC(), Caller: "machine " + m.ID,
		CallerObjectID: m.ID, OperationName: operation, ResourceID: extID, Status: status, HTTPStatus: http.StatusOK,
		CorrelationID: CorrelationID(ctx), Properties: map[string]string{"statusCode": "OK",
			"code":    fmt.Sprintf("ProvisioningState/%s/%d", strings.ToLower(b.ProvisioningState), b.Code),
			"message": b.Message, "generation": b.Generation}}
	if len(b.Steps) > 0 {
		e.Properties["steps"] = truncate(strings.Join(b.Steps, "; "), maxStatusMessage)
	}
	if err := s.Store.AppendActivity(ctx, e); err != nil {
		s.Log.LogAttrs(ctx, slog.LevelError, "activity log append failed",
			slog.String("correlationId", e.CorrelationID), slog.String("error", err.Error()))
	}
}

// resourceName is the last segment of an id.
func resourceName(id string) string { return id[strings.LastIndex(id, "/")+1:] }
