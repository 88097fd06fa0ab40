package resource

import "time"

// Subscription is a billing and access boundary under a tenant. Its ARM id is
// /subscriptions/{ID}.
type Subscription struct {
	ID          string    `json:"subscriptionId"`
	TenantID    string    `json:"tenantId"`
	DisplayName string    `json:"displayName"`
	State       string    `json:"state"` // "Enabled"
	Created     time.Time `json:"created"`
}

// ARMID is the subscription's resource id.
func (s Subscription) ARMID() string { return "/subscriptions/" + s.ID }
