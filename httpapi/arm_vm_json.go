package httpapi

import (
	"encoding/json"

	"github.com/latchsh/latch/resource"
)

// vmJSON is ARM's virtual machine shape. With expand it carries properties.instanceView,
// whose extensions list is what az reads before setting an extension.
func vmJSON(vm resource.Resource, exts []resource.Resource, expand bool) map[string]any {
	props := map[string]any{}
	_ = json.Unmarshal(vm.Properties, &props)
	var p resource.VMProperties
	_ = json.Unmarshal(vm.Properties, &p)
	if expand {
		props["instanceView"] = instanceViewJSON(p, exts)
	}
	out := map[string]any{"id": vm.ID, "name": vm.Name, "type": resource.TypeVirtualMachine, "location": vm.Location,
		"tags": tagsJSON(vm.Tags), "properties": props}
	if vm.Identity != nil {
		out["identity"] = vm.Identity
	}
	if len(exts) > 0 {
		rs := make([]any, 0, len(exts))
		for _, e := range exts {
			rs = append(rs, extensionJSON(e))
		}
		out["resources"] = rs
	}
	return out
}

func succeededStatus() map[string]string {
	return map[string]string{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"}
}

// instanceViewJSON reports the machine as its agent last described it: running when the agent
// is connected, otherwise in an unknown power state. The vmAgent block carries the agent's
// connection (Ready while connected, as Azure's guest agent shows), and each extension the
// status its machine last reported.
func instanceViewJSON(p resource.VMProperties, exts []resource.Resource) map[string]any {
	power := map[string]string{"code": "PowerState/unknown", "level": "Info", "displayStatus": "VM status unknown (agent not connected)"}
	if p.Machine.Status == resource.MachineConnected {
		power = map[string]string{"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"}
	}
	views := make([]any, 0, len(exts))
	for _, e := range exts {
		views = append(views, extensionViewJSON(e))
	}
	iv := map[string]any{"computerName": p.OSProfile.ComputerName, "osName": p.Machine.OSName, "osVersion": p.Machine.OSVersion,
		"extensions": views, "statuses": []any{succeededStatus(), power}, "vmAgent": vmAgentJSON(p.Machine)}
	return iv
}

// vmAgentJSON is ARM's instanceView.vmAgent with the machine's connection as its status.
func vmAgentJSON(m resource.MachineState) map[string]any {
	st := map[string]any{"code": "ProvisioningState/succeeded", "level": "Info"}
	switch m.Status {
	case resource.MachineConnected:
		st["displayStatus"], st["message"] = "Ready", "connected"
	case resource.MachineDisconnected:
		st["level"], st["displayStatus"], st["message"] = "Warning", "Not Ready", "disconnected"
	default:
		st["level"], st["displayStatus"], st["message"] = "Warning", "Not Ready", "not connected: no machine has been onboarded"
	}
	if m.LastSeen != nil {
		st["time"] = m.LastSeen.UTC()
	}
	out := map[string]any{"vmAgentVersion": m.AgentVersion, "statuses": []any{st}}
	if m.AgentVersion == "" {
		out["vmAgentVersion"] = "Unknown"
	}
	return out
}

// extensionViewJSON is an extension's instance view: what its machine reported, or for one
// stored before reports existed, its provisioning state.
func extensionViewJSON(e resource.Resource) map[string]any {
	ep, _ := resource.ParseExtensionProperties(e.Properties)
	if ep.InstanceView != nil {
		return map[string]any{"name": e.Name, "type": ep.InstanceView.Type, "typeHandlerVersion": ep.InstanceView.TypeHandlerVersion,
			"statuses": ep.InstanceView.Statuses}
	}
	return map[string]any{"name": e.Name, "type": ep.Publisher + "." + ep.Type,
		"typeHandlerVersion": ep.TypeHandlerVersion, "statuses": []any{succeededStatus()}}
}

// extensionJSON is ARM's virtual machine extension shape, without Latch's bookkeeping.
func extensionJSON(e resource.Resource) map[string]any {
	props := map[string]any{}
	_ = json.Unmarshal(e.Properties, &props)
	delete(props, "latch")
	return map[string]any{"id": e.ID, "name": e.Name, "type": resource.TypeVMExtension, "location": e.Location,
		"tags": tagsJSON(e.Tags), "properties": props}
}
