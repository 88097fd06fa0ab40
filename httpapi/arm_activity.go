package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
)

// recordActivity appends one activity log entry for a write: who, what, on which resource,
// the answer and the correlation id. A failure to record is logged and does not change the
// answer: the write itself has happened (or been refused) already.
func (s *Server) recordActivity(q *armRequest, operation string, status int, err error) {
	e := resource.ActivityEntry{TenantID: q.tenantID(), ID: newID(), Time: s.now().UTC(), Caller: callerName(q.caller),
		CallerObjectID: q.caller.ObjectID, OperationName: operation, ResourceID: q.resourceID,
		Status: resource.ActivitySucceeded, HTTPStatus: status, CorrelationID: CorrelationID(q.ctx),
		Properties: map[string]string{"apiVersion": q.apiVersion}}
	if err != nil {
		e.Status, e.HTTPStatus = resource.ActivityFailed, statusOf(errs.KindOf(err))
		e.Properties["message"] = errs.Message(err)
		if code := errs.CodeOf(err); code != "" {
			e.Properties["code"] = string(code)
		}
	}
	e.Properties["statusCode"] = strings.ReplaceAll(http.StatusText(e.HTTPStatus), " ", "")
	if aerr := s.Store.AppendActivity(q.ctx, e); aerr != nil {
		s.Log.LogAttrs(q.ctx, slog.LevelError, "activity log append failed",
			slog.String("correlationId", e.CorrelationID), slog.String("error", aerr.Error()))
	}
}

// listActivity serves GET /subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values.
// The caller sees the subscription's entries when it may read the activity log there, and
// otherwise only those of resources it may read it at.
func listActivity(q *armRequest) (int, any, error) {
	sub, err := q.subscription()
	if err != nil {
		return 0, nil, err
	}
	f, err := parseActivityFilter(q.r.URL.Query().Get("$filter"))
	if err != nil {
		return 0, nil, err
	}
	subScope := access.MustParseScope(sub.ARMID())
	const action = "Microsoft.Insights/eventtypes/values/read"
	whole := q.authz.allowed(action, subScope)
	entries, err := q.s.Store.ListActivity(q.ctx, q.tenantID(), resource.ActivityQuery{From: f.from, To: f.to, ResourcePrefix: f.prefix(sub)})
	if err != nil {
		return 0, nil, err
	}
	out := []any{}
	for _, e := range entries {
		if !f.keeps(e) || !whole && !entryReadable(q, action, e) {
			continue
		}
		out = append(out, activityJSON(e, sub.ID))
	}
	if !whole && len(out) == 0 {
		if err := q.authz.require(action, subScope); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func entryReadable(q *armRequest, action string, e resource.ActivityEntry) bool {
	sc, ok := entryScope(e.ResourceID)
	return ok && q.authz.allowed(action, sc)
}

// entryScope is the scope an entry is about: its resource, or for a role assignment or
// definition id, the scope that id sits under.
func entryScope(id string) (access.Scope, bool) {
	if sc, err := access.ParseScope(id); err == nil {
		return sc, true
	}
	i := strings.LastIndex(strings.ToLower(id), "/providers/microsoft.authorization/")
	if i < 0 {
		return access.Scope{}, false
	}
	if i == 0 {
		return access.RootScope, true
	}
	sc, err := access.ParseScope(id[:i])
	return sc, err == nil
}

// activityFilter is what Latch understands of the activity log's $filter: eventTimestamp ge
// (required, as ARM requires it) and le, and equality on resourceGroupName, resourceUri /
// resourceId, correlationId, caller and status.
type activityFilter struct {
	from, to                                time.Time
	group, uri, correlation, caller, status string
}

func parseActivityFilter(raw string) (activityFilter, error) {
	const op = "httpapi.parseActivityFilter"
	bad := func(msg string) error { return errs.E(op, errs.Invalid, errs.Code("BadRequest"), msg) }
	var f activityFilter
	for _, clause := range splitAnd(raw) {
		field, opr, val, ok := parseClause(clause)
		if !ok {
			return f, bad("The $filter clause '" + truncate(clause, 100) + "' is not understood; use field op 'value' joined by 'and'.")
		}
		if err := f.set(strings.ToLower(field), strings.ToLower(opr), val); err != nil {
			return f, err
		}
	}
	if f.from.IsZero() {
		return f, bad("The $filter query parameter must give the start of the time range: eventTimestamp ge '<ISO 8601 time>'.")
	}
	return f, nil
}

func (f *activityFilter) set(field, opr, val string) error {
	if field == "eventtimestamp" {
		t, err := time.Parse(time.RFC3339Nano, val)
		if err != nil || opr != "ge" && opr != "le" {
			return errs.E("httpapi.parseActivityFilter", errs.Invalid, errs.Code("BadRequest"),
				"eventTimestamp takes 'ge' or 'le' and an ISO 8601 time such as '2026-01-02T03:04:05Z'.")
		}
		if opr == "ge" {
			f.from = t
		} else {
			f.to = t.Add(time.Microsecond) // le is inclusive; the store's bound is exclusive
		}
		return nil
	}
	target := map[string]*string{"resourcegroupname": &f.group, "resourceuri": &f.uri, "resourceid": &f.uri,
		"correlationid": &f.correlation, "caller": &f.caller, "status": &f.status}[field]
	if target == nil || opr != "eq" {
		return errs.E("httpapi.parseActivityFilter", errs.Invalid, errs.Code("BadRequest"),
			"The $filter field '"+truncate(field, 40)+"' is not supported; use eventTimestamp, resourceGroupName, resourceUri, correlationId, caller or status.")
	}
	*target = val
	return nil
}

// prefix narrows the store query to the subscription, resource group or resource asked for.
func (f activityFilter) prefix(sub resource.Subscription) string {
	switch {
	case f.uri != "":
		return f.uri
	case f.group != "":
		return resource.ResourceGroupID(sub.ID, f.group)
	}
	return sub.ARMID()
}

func (f activityFilter) keeps(e resource.ActivityEntry) bool {
	return (f.correlation == "" || strings.EqualFold(f.correlation, e.CorrelationID)) &&
		(f.caller == "" || strings.EqualFold(f.caller, e.Caller)) &&
		(f.status == "" || strings.EqualFold(f.status, e.Status)) &&
		(f.uri == "" || strings.EqualFold(f.uri, e.ResourceID))
}

// splitAnd splits a filter on " and " outside quotes.
func splitAnd(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inQuote = !inQuote
		case !inQuote && i+5 <= len(s) && strings.EqualFold(s[i:i+5], " and "):
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 5
			i += 4
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// parseClause reads "field op 'value'" with ” standing for a quote inside the value.
func parseClause(c string) (field, op, val string, ok bool) {
	parts := strings.SplitN(strings.TrimSpace(c), " ", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	v := strings.TrimSpace(parts[2])
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", "", "", false
	}
	return parts[0], parts[1], strings.ReplaceAll(v[1:len(v)-1], "''", "'"), true
}

// activityJSON is ARM's EventData shape.
func activityJSON(e resource.ActivityEntry, subID string) map[string]any {
	lv := func(v string) map[string]string { return map[string]string{"value": v, "localizedValue": v} }
	ref, _ := resource.ParseResourceID(e.ResourceID)
	rg := ref.ResourceGroup
	if rg == "" {
		if sc, err := access.ParseScope(e.ResourceID); err == nil {
			rg = sc.ResourceGroupName()
		}
	}
	provider, _, _ := strings.Cut(e.OperationName, "/")
	return map[string]any{
		"authorization": map[string]string{"action": e.OperationName, "scope": e.ResourceID},
		"caller":        e.Caller, "channels": "Operation", "correlationId": e.CorrelationID, "description": "",
		"eventDataId": e.ID, "eventName": lv("EndRequest"), "category": lv("Administrative"),
		"eventTimestamp": e.Time.Format(time.RFC3339Nano), "submissionTimestamp": e.Time.Format(time.RFC3339Nano),
		"id":          e.ResourceID + "/events/" + e.ID + "/ticks/" + strconv.FormatInt(e.Time.UnixMicro()*10, 10),
		"level":       map[bool]string{true: "Informational", false: "Error"}[e.Status == resource.ActivitySucceeded],
		"operationId": e.CorrelationID, "operationName": lv(e.OperationName),
		"resourceGroupName": rg, "resourceProviderName": lv(provider), "resourceId": e.ResourceID,
		"resourceType": lv(ref.Type), "status": lv(e.Status),
		"subStatus":      map[string]string{"value": e.Properties["statusCode"], "localizedValue": e.Properties["statusCode"] + " (HTTP Status Code: " + strconv.Itoa(e.HTTPStatus) + ")"},
		"subscriptionId": subID, "tenantId": e.TenantID,
		"claims":     map[string]string{"http://schemas.microsoft.com/identity/claims/objectidentifier": e.CallerObjectID},
		"properties": e.Properties,
	}
}
