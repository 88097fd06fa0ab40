package cli

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newSignInCommand(a *app) *cobra.Command {
	return newGroup("signin", "Read the sign-in log.", newSignInList(a))
}

// signInFilter holds the flags of signin list, which become one $filter.
type signInFilter struct {
	user, app, start, end, status string
	top                           int
}

func newSignInList(a *app) *cobra.Command {
	var sf signInFilter
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List sign-ins, newest first.",
		Example: `  latch signin list --user alice@contoso.test --status failure --start-time 2026-03-01T00:00:00Z --end-time 2026-03-02T00:00:00Z`,
		Args:    cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			q, err := sf.query()
			if err != nil {
				return nil, err
			}
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			items, _, err := g.list(ctx, "auditLogs/signIns", q, true)
			return items, err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&sf.user, "user", "", "The user's principal name or object id.")
	f.StringVar(&sf.app, "app", "", "The application (client) id.")
	f.StringVar(&sf.start, "start-time", "", "Only sign-ins at or after this time (RFC 3339, e.g. 2026-03-01T00:00:00Z).")
	f.StringVar(&sf.end, "end-time", "", "Only sign-ins at or before this time (RFC 3339).")
	f.StringVar(&sf.status, "status", "", "success or failure.")
	f.IntVar(&sf.top, "top", 0, "At most this many sign-ins (1 to 1000; default all the server returns).")
	return cmd
}

func endBeforeStart(start, end string) bool {
	s, _ := time.Parse(time.RFC3339, start)
	e, _ := time.Parse(time.RFC3339, end)
	return e.Before(s)
}

// query turns the flags into $filter and $top, refusing bad values before any request.
func (sf signInFilter) query() (url.Values, error) {
	var clauses []string
	switch {
	case sf.user == "":
	case isGUID(sf.user):
		clauses = append(clauses, odataEq("userId", sf.user))
	default:
		clauses = append(clauses, odataEq("userPrincipalName", sf.user))
	}
	if sf.app != "" {
		clauses = append(clauses, odataEq("appId", sf.app))
	}
	for _, b := range []struct{ flag, value, op string }{{"--start-time", sf.start, "ge"}, {"--end-time", sf.end, "le"}} {
		if b.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, b.value)
		if err != nil {
			return nil, usagef("%s must be an RFC 3339 time such as 2026-03-01T00:00:00Z.", b.flag)
		}
		clauses = append(clauses, "createdDateTime "+b.op+" "+t.UTC().Format(time.RFC3339Nano))
	}
	if sf.start != "" && sf.end != "" && endBeforeStart(sf.start, sf.end) {
		return nil, usagef("--end-time is before --start-time.")
	}
	switch strings.ToLower(sf.status) {
	case "":
	case "success":
		clauses = append(clauses, "status/errorCode eq 0")
	case "failure":
		clauses = append(clauses, "status/errorCode ne 0")
	default:
		return nil, usagef("--status must be success or failure.")
	}
	q := url.Values{}
	if len(clauses) > 0 {
		q.Set("$filter", strings.Join(clauses, " and "))
	}
	if sf.top < 0 || sf.top > 1000 {
		return nil, usagef("--top must be from 1 to 1000.")
	}
	if sf.top > 0 {
		q.Set("$top", strconv.Itoa(sf.top))
	}
	return q, nil
}
