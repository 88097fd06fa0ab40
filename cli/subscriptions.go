package cli

import (
	"context"
	"net/http"
	"strings"
)

// cloudName stands where az prints "AzureCloud".
const cloudName = "Latch"

// armAPIVersion is the api-version sent to the ARM-shaped API.
const armAPIVersion = "2022-12-01"

// tenantLevelName is az's name for the account of a tenant without subscriptions.
const tenantLevelName = "N/A(tenant level account)"

// armSubscription is one item of GET /subscriptions.
type armSubscription struct {
	SubscriptionID   string `json:"subscriptionId"`
	TenantID         string `json:"tenantId"`
	DisplayName      string `json:"displayName"`
	State            string `json:"state"`
	ManagedByTenants []any  `json:"managedByTenants"`
}

// listSubscriptions reads every page of GET {server}/subscriptions.
func (c *client) listSubscriptions(ctx context.Context, server, token string) ([]armSubscription, error) {
	next := server + "/subscriptions?api-version=" + armAPIVersion
	var all []armSubscription
	for pages := 0; next != "" && pages < maxPages; pages++ {
		var page struct {
			Value    []armSubscription `json:"value"`
			NextLink string            `json:"nextLink"`
		}
		if err := c.call(ctx, http.MethodGet, next, token, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		next = sameOriginOrEmpty(page.NextLink, server)
	}
	return all, nil
}

// maxPages bounds how many pages a list follows, against a server that links in a loop.
const maxPages = 1000

// sameOriginOrEmpty keeps a next link only if it is on the server: the token goes with it.
func sameOriginOrEmpty(link, server string) string {
	if link == "" || !sameOrigin(link, server) {
		return ""
	}
	return link
}

// attachSubscriptions fills prof.Subscriptions after a login, keeping the previous default
// when it is still there. Without subscriptions the login fails, as in az, unless
// --allow-no-subscriptions asked for a tenant-level account.
func (a *app) attachSubscriptions(ctx context.Context, c *client, prof *profile, token string, allowNone bool, dir string) error {
	subs, err := c.listSubscriptions(ctx, prof.Server, token)
	if err != nil {
		return err
	}
	for _, s := range subs {
		prof.Subscriptions = append(prof.Subscriptions, subscription{
			ID: s.SubscriptionID, Name: s.DisplayName, State: s.State, TenantID: s.TenantID,
			HomeTenantID: prof.HomeTenantID, ManagedByTenants: nonNil(s.ManagedByTenants),
		})
	}
	if len(prof.Subscriptions) == 0 {
		if !allowNone {
			return failf("No subscriptions found for %s. If this is expected, use '--allow-no-subscriptions' to have tenant level access.", prof.User.Name)
		}
		prof.Subscriptions = []subscription{{ID: prof.Tenant, Name: tenantLevelName, State: "Enabled",
			TenantID: prof.Tenant, HomeTenantID: prof.HomeTenantID, ManagedByTenants: []any{}}}
	}
	prof.setDefault(previousDefault(dir))
	return nil
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func previousDefault(dir string) string {
	if prev, err := loadProfile(dir); err == nil {
		if s := prev.defaultSubscription(); s != nil {
			return s.ID
		}
	}
	return ""
}

// setDefault makes id the default subscription if present, else the first enabled one.
func (p *profile) setDefault(id string) {
	pick := -1
	for i, s := range p.Subscriptions {
		if s.ID == id {
			pick = i
		}
		if pick < 0 && id == "" && strings.EqualFold(s.State, "Enabled") {
			pick = i
		}
	}
	if pick < 0 {
		pick = 0
	}
	for i := range p.Subscriptions {
		p.Subscriptions[i].IsDefault = i == pick
	}
}

// defaultSubscription is the current subscription, or nil.
func (p *profile) defaultSubscription() *subscription {
	for i := range p.Subscriptions {
		if p.Subscriptions[i].IsDefault {
			return &p.Subscriptions[i]
		}
	}
	if len(p.Subscriptions) > 0 {
		return &p.Subscriptions[0]
	}
	return nil
}

// findSubscription matches a subscription by id, or by name ignoring case, as az does.
func (p *profile) findSubscription(idOrName string) *subscription {
	for i, s := range p.Subscriptions {
		if strings.EqualFold(s.ID, idOrName) || strings.EqualFold(s.Name, idOrName) {
			return &p.Subscriptions[i]
		}
	}
	return nil
}

// accountView is az's JSON for one subscription; nameKey is "cloudName" in lists and
// "environmentName" in "account show".
func accountView(p *profile, s subscription, nameKey string) map[string]any {
	return map[string]any{
		nameKey:            cloudName,
		"homeTenantId":     s.HomeTenantID,
		"id":               s.ID,
		"isDefault":        s.IsDefault,
		"managedByTenants": nonNil(s.ManagedByTenants),
		"name":             s.Name,
		"state":            s.State,
		"tenantId":         s.TenantID,
		"user":             map[string]any{"name": p.User.Name, "type": p.User.Type},
	}
}

func accountList(p *profile) []map[string]any {
	list := make([]map[string]any, 0, len(p.Subscriptions))
	for _, s := range p.Subscriptions {
		list = append(list, accountView(p, s, "cloudName"))
	}
	return list
}

// accountTable is az's table for the account list.
func accountTable(v any) (any, []string) {
	cols := []string{"Name", "CloudName", "SubscriptionId", "TenantId", "State", "IsDefault"}
	items, _ := v.([]any)
	rows := make([]any, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		rows = append(rows, map[string]any{
			"Name": m["name"], "CloudName": m["cloudName"], "SubscriptionId": m["id"],
			"TenantId": m["tenantId"], "State": m["state"], "IsDefault": m["isDefault"],
		})
	}
	return rows, cols
}
