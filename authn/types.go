package authn

import "time"

// TemporaryAccessPass is a time-limited pass an administrator creates so a user can sign in
// and register their first passkey. Only its hash is kept.
type TemporaryAccessPass struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenantId"`
	UserID   string    `json:"userId"`
	Hash     string    `json:"hash"`
	OneTime  bool      `json:"isUsableOnce"`
	Start    time.Time `json:"startDateTime"`
	End      time.Time `json:"endDateTime"`
	Used     bool      `json:"isUsed"`
	Created  time.Time `json:"createdDateTime"`
	Version  int64     `json:"version"`
}
