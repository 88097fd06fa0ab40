package cli

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
)

// createVM resolves the defaults az fills in (the resource group's location, the image's
// operating system, the admin user name), PUTs the VM and prints az's summary of it.
func (c *arm) createVM(ctx context.Context, a *app, o vmCreateOptions, changed func(string) bool) (any, error) {
	img, err := resolveImage(o.image)
	if err != nil {
		return nil, err
	}
	if o.location == "" {
		rg, err := c.get(ctx, c.groupPath(o.rg), apiResources, nil)
		if err != nil {
			return nil, err
		}
		o.location, _ = rg["location"].(string)
	}
	osProfile, err := o.osProfile(a, img)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"location": o.location, "properties": map[string]any{
		"hardwareProfile": map[string]any{"vmSize": o.size},
		"storageProfile": map[string]any{"imageReference": img.reference(),
			"osDisk": map[string]any{"createOption": "FromImage", "osType": img.os, "caching": "ReadWrite"}},
		"osProfile": osProfile,
	}}
	if changed("tags") {
		body["tags"] = parseTags(o.tags)
	}
	if changed("assign-identity") {
		body["identity"] = identityBody(o.identities)
	}
	if _, err := c.write(ctx, http.MethodPut, c.vmPath(o.rg, o.name), apiCompute, body); err != nil {
		return nil, err
	}
	vm, err := c.getVM(ctx, o.rg, o.name, "instanceView")
	if err != nil {
		return nil, err
	}
	out := vmCreateOutput(vm, changed("assign-identity"))
	if out["onboardingCommand"], err = c.onboardingCommand(ctx, a, o.rg, o.name); err != nil {
		return nil, err
	}
	return out, nil
}

// osProfile is the VM's operating system profile: computer name, administrator and how the
// administrator signs in (password on Windows; SSH key, password or both on Linux).
func (o vmCreateOptions) osProfile(a *app, img vmImage) (map[string]any, error) {
	user := o.adminUser
	if user == "" {
		user = defaultAdminUser(a.getenv("USER"))
	}
	name := o.computerName
	if name == "" {
		name = o.name
		if img.os == "Windows" && len(name) > 15 {
			name = name[:15] // Windows computer names are at most 15 characters
		}
	}
	p := map[string]any{"computerName": name, "adminUsername": user}
	if img.os == "Windows" {
		if o.adminPassword == "" {
			return nil, failf("Please specify password in non-interactive mode.")
		}
		p["adminPassword"] = o.adminPassword
		p["windowsConfiguration"] = map[string]any{"provisionVMAgent": true, "enableAutomaticUpdates": true}
		return p, nil
	}
	return o.linuxProfile(p, user)
}

func (o vmCreateOptions) linuxProfile(p map[string]any, user string) (map[string]any, error) {
	auth := o.authType
	if auth == "" {
		auth = "ssh"
		if o.adminPassword != "" && len(o.sshKeys) == 0 {
			auth = "password"
		}
	}
	linux := map[string]any{"disablePasswordAuthentication": auth == "ssh"}
	if auth != "ssh" {
		if o.adminPassword == "" {
			return nil, failf("Please specify password in non-interactive mode.")
		}
		p["adminPassword"] = o.adminPassword
	}
	if auth != "password" {
		keys, err := sshPublicKeys(o.sshKeys, user)
		if err != nil {
			return nil, err
		}
		linux["ssh"] = map[string]any{"publicKeys": keys}
	}
	p["linuxConfiguration"] = linux
	return p, nil
}

// sshPublicKeys reads each --ssh-key-values word: a key, or a file holding one.
func sshPublicKeys(values []string, user string) ([]any, error) {
	if len(values) == 0 {
		return nil, failf("An RSA key file or key value must be supplied to SSH Key Value. You can use --ssh-key-values to supply one, or --authentication-type password with --admin-password.")
	}
	keys := make([]any, 0, len(values))
	for _, v := range values {
		if b, err := os.ReadFile(v); err == nil {
			v = strings.TrimSpace(string(b))
		}
		if !strings.HasPrefix(v, "ssh-") && !strings.HasPrefix(v, "ecdsa-") {
			return nil, failf("An RSA key file or key value must be supplied to SSH Key Value. '%s' is neither.", v)
		}
		keys = append(keys, map[string]any{"path": "/home/" + user + "/.ssh/authorized_keys", "keyData": v})
	}
	return keys, nil
}

// disallowedUsers are names az refuses for an administrator; the default falls back to
// azureuser for them.
var disallowedUsers = []string{"administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1",
	"1", "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner",
	"root", "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5"}

func defaultAdminUser(current string) string {
	if current == "" || slices.Contains(disallowedUsers, strings.ToLower(current)) {
		return "azureuser"
	}
	return current
}

// identityBody is the identity block for --assign-identity words, as az builds it:
// "[system]" (or nothing) for the system-assigned identity, resource ids for user-assigned.
func identityBody(words []string) map[string]any {
	var types []string
	if len(words) == 0 || slices.Contains(words, "[system]") {
		types = append(types, "SystemAssigned")
	}
	external := map[string]any{}
	for _, w := range words {
		if w != "[system]" {
			external[w] = map[string]any{}
		}
	}
	if len(external) > 0 {
		types = append(types, "UserAssigned")
	}
	body := map[string]any{"type": strings.Join(types, ",")}
	if len(external) > 0 {
		body["userAssignedIdentities"] = external
	}
	return body
}

// vmCreateOutput is az's summary after "vm create".
func vmCreateOutput(vm map[string]any, withIdentity bool) map[string]any {
	props, _ := vm["properties"].(map[string]any)
	out := map[string]any{
		"id": vm["id"], "resourceGroup": rgOfID(objectID(vm)), "powerState": powerState(props["instanceView"]),
		"publicIpAddress": "", "fqdns": "", "privateIpAddress": "", "macAddress": "", "location": vm["location"],
	}
	if zones, _ := vm["zones"].([]any); len(zones) > 0 {
		out["zones"] = zones[0]
	} else {
		out["zones"] = ""
	}
	if withIdentity {
		out["identity"] = identityInfo(vm["identity"])
	}
	return out
}

// identityInfo is az's summary of a VM's identities.
func identityInfo(identity any) map[string]any {
	m, _ := identity.(map[string]any)
	principal, _ := m["principalId"].(string)
	external, _ := m["userAssignedIdentities"].(map[string]any)
	if external == nil {
		external = map[string]any{}
	}
	return map[string]any{"systemAssignedIdentity": principal, "userAssignedIdentities": external}
}
