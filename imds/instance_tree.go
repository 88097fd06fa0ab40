package imds

import "strings"

// obj builds a JSON object whose fields appear from the api-version that introduced them.
type obj struct {
	version string
	m       map[string]node
}

func (o obj) add(first, key string, v node) obj {
	if since(o.version, first) {
		o.m[key] = v
	}
	return o
}

// instanceTree renders inst as api-version v defines /metadata/instance.
func instanceTree(inst Instance, v string) map[string]node {
	return map[string]node{"compute": computeTree(inst.Compute, v), "network": networkTree(inst.Network)}
}

func computeTree(c Compute, v string) map[string]node {
	o := obj{version: v, m: map[string]node{}}
	o.add("2017-04-02", "location", c.Location).add("2017-04-02", "name", c.Name).
		add("2017-04-02", "offer", c.Offer).add("2017-04-02", "osType", c.OSType).
		add("2017-04-02", "platformFaultDomain", c.PlatformFaultDomain).
		add("2017-04-02", "platformUpdateDomain", c.PlatformUpdateDomain).
		add("2017-04-02", "publisher", c.Publisher).add("2017-04-02", "sku", c.SKU).
		add("2017-04-02", "version", c.Version).add("2017-04-02", "vmId", c.VMID).
		add("2017-04-02", "vmSize", c.VMSize).
		add("2017-08-01", "resourceGroupName", c.ResourceGroupName).
		add("2017-08-01", "subscriptionId", c.SubscriptionID).
		add("2017-08-01", "tags", tagString(c.Tags)).
		add("2017-08-01", "placementGroupId", c.PlacementGroupID).
		add("2017-12-01", "zone", c.Zone).add("2017-12-01", "vmScaleSetName", c.VMScaleSetName).
		add("2018-04-02", "publicKeys", publicKeys(c.PublicKeys)).
		add("2018-04-02", "plan", map[string]node{"name": c.Plan.Name, "product": c.Plan.Product, "publisher": c.Plan.Publisher}).
		add("2018-10-01", "azEnvironment", c.AzEnvironment).add("2018-10-01", "provider", c.Provider).
		add("2019-03-11", "resourceId", c.ResourceID).
		add("2019-06-01", "storageProfile", storageTree(c.StorageProfile)).
		add("2019-06-04", "tagsList", tagList(c.Tags)).
		add("2020-06-01", "securityProfile", securityTree(c.SecurityProfile)).
		add("2020-07-15", "osProfile", osProfileTree(c.OSProfile)).
		add("2021-01-01", "userData", c.UserData)
	return o.m
}

// tagString is the old "tags" form, "name:value;name:value".
func tagString(tags []Tag) string {
	parts := make([]string, len(tags))
	for i, t := range tags {
		parts[i] = t.Name + ":" + t.Value
	}
	return strings.Join(parts, ";")
}

func tagList(tags []Tag) []node {
	out := make([]node, len(tags))
	for i, t := range tags {
		out[i] = map[string]node{"name": t.Name, "value": t.Value}
	}
	return out
}

func publicKeys(keys []PublicKey) []node {
	out := make([]node, len(keys))
	for i, k := range keys {
		out[i] = map[string]node{"keyData": k.KeyData, "path": k.Path}
	}
	return out
}

func securityTree(p SecurityProfile) map[string]node {
	return map[string]node{"secureBootEnabled": p.SecureBootEnabled, "virtualTpmEnabled": p.VirtualTpmEnabled,
		"encryptionAtHost": p.EncryptionAtHost, "securityType": p.SecurityType}
}

func osProfileTree(p OSProfile) map[string]node {
	return map[string]node{"adminUsername": p.AdminUsername, "computerName": p.ComputerName,
		"disablePasswordAuthentication": p.DisablePasswordAuthentication}
}

func storageTree(p StorageProfile) map[string]node {
	ir := p.ImageReference
	data := make([]node, len(p.DataDisks))
	for i, d := range p.DataDisks {
		data[i] = diskTree(d, true)
	}
	return map[string]node{
		"imageReference": map[string]node{"id": ir.ID, "offer": ir.Offer, "publisher": ir.Publisher, "sku": ir.SKU, "version": ir.Version},
		"osDisk":         diskTree(p.OSDisk, false),
		"dataDisks":      data,
	}
}

func diskTree(d Disk, data bool) map[string]node {
	m := map[string]node{"caching": d.Caching, "createOption": d.CreateOption, "diskSizeGB": d.DiskSizeGB,
		"managedDisk": map[string]node{"id": d.ManagedDiskID, "storageAccountType": d.StorageAccountType},
		"name":        d.Name, "writeAcceleratorEnabled": d.WriteAcceleratorEnabled}
	if data {
		m["lun"] = d.Lun
	} else {
		m["osType"] = d.OSType
	}
	return m
}

func networkTree(n Network) map[string]node {
	ifaces := make([]node, len(n.Interfaces))
	for i, nic := range n.Interfaces {
		ifaces[i] = interfaceTree(nic)
	}
	return map[string]node{"interface": ifaces}
}

func interfaceTree(nic Interface) map[string]node {
	v4 := make([]node, len(nic.IPv4))
	for i, a := range nic.IPv4 {
		v4[i] = map[string]node{"privateIpAddress": a.Private, "publicIpAddress": a.Public}
	}
	subnets := make([]node, len(nic.Subnets))
	for i, s := range nic.Subnets {
		subnets[i] = map[string]node{"address": s.Address, "prefix": s.Prefix}
	}
	v6 := make([]node, len(nic.IPv6))
	for i, a := range nic.IPv6 {
		v6[i] = map[string]node{"privateIpAddress": a.Private}
	}
	return map[string]node{
		"ipv4":       map[string]node{"ipAddress": v4, "subnet": subnets},
		"ipv6":       map[string]node{"ipAddress": v6},
		"macAddress": nic.MACAddress,
	}
}
