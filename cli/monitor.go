package cli

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// The activity log ("latch monitor activity-log list"): every write to the resource manager,
// who made it, when, its result and correlation id.

func newMonitorCommand(a *app) *cobra.Command {
	activity := newGroup("activity-log", "Manage activity logs.", newActivityLogList(a))
	return newGroup("monitor", "Monitor the resource manager's activity.", activity)
}

// activityLogOptions are the flags of "monitor activity-log list".
type activityLogOptions struct {
	correlationID, rg, resourceID, namespace, caller, status string
	start, end, offset                                       string
	maxEvents                                                int
	selects                                                  []string
}

func newActivityLogList(a *app) *cobra.Command {
	var o activityLogOptions
	cmd := a.armCommand("list", "List and query activity log events.", func(ctx context.Context, c *arm) (any, error) {
		q, err := o.query(a.now())
		if err != nil {
			return nil, err
		}
		events, err := c.list(ctx, c.subscriptionPath()+"/providers/Microsoft.Insights/eventtypes/management/values", apiActivityLog, q)
		if err != nil {
			return nil, err
		}
		return events[:min(len(events), max(o.maxEvents, 0))], nil
	})
	cmd.Example = "  latch monitor activity-log list --resource-group myResourceGroup --offset 1h"
	f := cmd.Flags()
	f.StringVarP(&o.rg, "resource-group", "g", "", "Name of resource group.")
	f.StringVar(&o.correlationID, "correlation-id", "", "Correlation id to query.")
	f.StringVar(&o.resourceID, "resource-id", "", "ARM id of a resource.")
	f.StringVar(&o.namespace, "namespace", "", "Resource provider namespace.")
	f.StringVar(&o.caller, "caller", "", "Caller to query for, such as an e-mail address or service principal ID.")
	f.StringVar(&o.status, "status", "", "Status to query for (ex: Failed).")
	f.StringVar(&o.start, "start-time", "", "Start time of the query, in ISO format (e.g. 2000-12-31T12:59:59Z).")
	f.StringVar(&o.end, "end-time", "", "End time of the query. Defaults to the current time.")
	f.StringVar(&o.offset, "offset", "6h", "Time offset of the query range, in ##d##h format.")
	f.IntVar(&o.maxEvents, "max-events", 50, "Maximum number of records to be returned by the command.")
	listFlag(cmd, &o.selects, "select", "", "", "Space-separated list of properties to be returned.")
	return cmd
}

// query builds az's $filter: the time range first, then one of correlation id, resource
// group, resource id or namespace, then caller and status. Field names are ARM's documented
// ones (a resource is "resourceUri").
func (o activityLogOptions) query(now time.Time) (url.Values, error) {
	start, end, err := o.timeRange(now)
	if err != nil {
		return nil, err
	}
	// Times are quoted, as ARM's documentation writes them, and keep their fraction of a
	// second, as az's do: "le now" cut to the second would miss what just happened.
	f := "eventTimestamp ge " + odataString(start.UTC().Format(time.RFC3339Nano)) + " and eventTimestamp le " + odataString(end.UTC().Format(time.RFC3339Nano))
	switch {
	case o.correlationID != "":
		f += " and correlationId eq " + odataString(o.correlationID)
	case o.rg != "":
		f += " and resourceGroupName eq " + odataString(o.rg)
	case o.resourceID != "":
		f += " and resourceUri eq " + odataString(o.resourceID)
	case o.namespace != "":
		f += " and resourceProvider eq " + odataString(o.namespace)
	}
	if o.caller != "" {
		f += " and caller eq " + odataString(o.caller)
	}
	if o.status != "" {
		f += " and status eq " + odataString(o.status)
	}
	q := url.Values{"$filter": {f}}
	if len(o.selects) > 0 {
		q.Set("$select", strings.Join(o.selects, ","))
	}
	return q, nil
}

// timeRange is az's: without times, end is now and start is end minus the offset; with one
// of them, the offset reaches from it.
func (o activityLogOptions) timeRange(now time.Time) (time.Time, time.Time, error) {
	off, err := parsePeriod(o.offset)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	start, err := parseTimeFlag(o.start, "--start-time")
	if err != nil {
		return start, start, err
	}
	end, err := parseTimeFlag(o.end, "--end-time")
	switch {
	case err != nil:
	case start.IsZero() && end.IsZero():
		end = now
		start = end.Add(-off)
	case start.IsZero():
		start = end.Add(-off)
	case end.IsZero():
		end = start.Add(off)
	}
	return start, end, err
}

func parseTimeFlag(s, flag string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("argument %s: invalid datetime value: '%s'", flag, s)
}

var periodPattern = regexp.MustCompile(`^(?i)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)

// parsePeriod reads az's "##d##h##m##s" offsets ("1h", "6h", "1d12h", "30m").
func parsePeriod(s string) (time.Duration, error) {
	m := periodPattern.FindStringSubmatch(s)
	if m == nil || s == "" {
		return 0, usagef("argument --offset: invalid period value: '%s'. PERIOD should be of the form \"##h##m##s\"", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if n, err := strconv.Atoi(m[i+1]); err == nil {
			d += time.Duration(n) * unit
		}
	}
	return d, nil
}
