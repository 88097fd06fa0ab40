package resource

import "time"

// Activity statuses, as ARM's activity log spells status.value.
const (
	ActivitySucceeded = "Succeeded"
	ActivityFailed    = "Failed"
)

// ActivityEntry is one record of the activity log: a write (or refused write) on the resource
// manager. Entries are only ever appended.
type ActivityEntry struct {
	TenantID       string            `json:"tenantId"`
	ID             string            `json:"eventDataId"` // GUID
	Time           time.Time         `json:"eventTimestamp"`
	Caller         string            `json:"caller"` // UPN for people, appId for applications
	CallerObjectID string            `json:"callerObjectId"`
	OperationName  string            `json:"operationName"` // e.g. Microsoft.Compute/virtualMachines/write
	ResourceID     string            `json:"resourceId"`
	Status         string            `json:"status"`     // ActivitySucceeded or ActivityFailed
	HTTPStatus     int               `json:"httpStatus"` // what the caller was answered
	CorrelationID  string            `json:"correlationId"`
	Properties     map[string]string `json:"properties,omitempty"`
}

// MaxActivityResults caps one activity log listing.
const MaxActivityResults = 1000

// ActivityQuery selects activity log entries: From inclusive, To exclusive (zero means
// unbounded), ResourcePrefix an ARM id whose entries, and those of everything below it, are
// kept (any case; "" keeps all). Limit caps the count (0 or more than MaxActivityResults means
// MaxActivityResults).
type ActivityQuery struct {
	From, To       time.Time
	ResourcePrefix string
	Limit          int
}

// EffectiveLimit is the number of entries a query may return.
func (q ActivityQuery) EffectiveLimit() int {
	if q.Limit <= 0 || q.Limit > MaxActivityResults {
		return MaxActivityResults
	}
	return q.Limit
}
