package cli

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

func newSPCommand(a *app) *cobra.Command {
	cred := newGroup("credential", "Manage a service principal's credentials.", newSPCredentialReset(a))
	return newGroup("sp", "Manage the directory's service principals.",
		newSPCreate(a), newSPList(a), newSPShow(a), newSPDelete(a), cred)
}

func newSPCreate(a *app) *cobra.Command {
	var appID string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a service principal.",
		Long: `Create a service principal for an application.

This also recreates the built-in sign-in applications if they were deleted:
  latch ad sp create --id ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0   (Azure Linux VM Sign-In)
  latch ad sp create --id 372140e0-b3b7-4226-8ef9-d57986796201   (Azure Windows VM Sign-In)`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			var sp map[string]any
			err = g.do(ctx, http.MethodPost, "servicePrincipals", nil, map[string]any{"appId": appID}, &sp)
			return sp, err
		}),
	}
	cmd.Flags().StringVar(&appID, "id", "", "Identifier uri, application id, or object id of the associated application.")
	required(cmd, "id")
	return cmd
}

func newSPList(a *app) *cobra.Command {
	var displayName, filter string
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List service principals.",
		Long:  "List service principals. Without a filter only the first page is shown; use --all for every one.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			q := filterQuery(odataStartsWith("displayName", displayName), filter)
			firstPage := q == nil && !all
			items, more, err := g.list(ctx, "servicePrincipals", q, firstPage)
			if more {
				a.warn("The result is not complete. You can still use '--all' to get all of them with long latency expected, or provide a filter through command arguments")
			}
			return items, err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&displayName, "display-name", "", "Object's display name or its prefix.")
	f.StringVar(&filter, "filter", "", "OData filter, e.g. --filter \"displayname eq 'test' and servicePrincipalType eq 'Application'\".")
	f.BoolVar(&all, "all", false, "List all entities, expect long delay if under a big organization.")
	return cmd
}

// resolveSP finds a service principal's object id from a service principal name, an
// application id or an object id, in that order, as az does.
func (g *graph) resolveSP(ctx context.Context, id string) (string, error) {
	filters := []string{"servicePrincipalNames/any(c:c eq " + odataString(id) + ")"}
	if isGUID(id) {
		filters = append(filters, odataEq("appId", id))
	}
	for _, f := range filters {
		items, _, err := g.list(ctx, "servicePrincipals", filterQuery(f), true)
		if err != nil {
			return "", err
		}
		if len(items) > 0 {
			return objectID(items[0]), nil
		}
	}
	if isGUID(id) {
		return id, nil
	}
	return "", notFoundf("Service principal '%s' doesn't exist", id)
}

// spCommand builds a command acting on one service principal given by --id.
func spCommand(a *app, use, short string, body objectBody) *cobra.Command {
	cmd, id := objectCommand(a, use, short, (*graph).resolveSP, body)
	cmd.Flags().StringVar(id, "id", "", "Service principal name, or object id, or application id.")
	required(cmd, "id")
	return cmd
}

func newSPShow(a *app) *cobra.Command {
	return spCommand(a, "show", "Get the details of a service principal.", func(ctx context.Context, g *graph, oid string) (any, error) {
		return g.get(ctx, "servicePrincipals/"+seg(oid))
	})
}

func newSPDelete(a *app) *cobra.Command {
	return spCommand(a, "delete", "Delete a service principal.", func(ctx context.Context, g *graph, oid string) (any, error) {
		return nil, g.do(ctx, http.MethodDelete, "servicePrincipals/"+seg(oid), nil, nil, nil)
	})
}

func newSPCredentialReset(a *app) *cobra.Command {
	var displayName string
	var years int
	cmd := spCommand(a, "reset", "Reset a service principal credential.", func(ctx context.Context, g *graph, oid string) (any, error) {
		return a.resetCredential(ctx, g, oid, displayName, years)
	})
	cmd.Long = `Reset a service principal credential: add a new client secret and print it.

The secret is shown only once; store it safely. Use it with:
  latch login --service-principal -u APP_ID -p PASSWORD --tenant TENANT`
	cmd.Flags().StringVar(&displayName, "display-name", "", "Friendly name for the credential.")
	cmd.Flags().IntVar(&years, "years", 1, "Number of years for which the credentials will be valid.")
	return cmd
}

func (a *app) resetCredential(ctx context.Context, g *graph, oid, displayName string, years int) (any, error) {
	if years < 1 {
		return nil, usagef("argument --years: must be a positive number of years, not %s", strconv.Itoa(years))
	}
	sp, err := g.get(ctx, "servicePrincipals/"+seg(oid))
	if err != nil {
		return nil, err
	}
	cred := map[string]any{"endDateTime": a.now().UTC().AddDate(years, 0, 0).Format(time.RFC3339)}
	if displayName != "" {
		cred["displayName"] = displayName
	}
	var out struct {
		SecretText string `json:"secretText"`
	}
	err = g.do(ctx, http.MethodPost, "servicePrincipals/"+seg(oid)+"/addPassword", nil, map[string]any{"passwordCredential": cred}, &out)
	if err != nil {
		return nil, err
	}
	if out.SecretText == "" {
		return nil, failf("the server added a credential but returned no secret text.")
	}
	a.warn("The output includes credentials that you must protect. Be sure that you do not include these credentials in your code or check the credentials into your source control.")
	return map[string]any{"appId": sp["appId"], "password": out.SecretText, "tenant": g.s.prof.Tenant}, nil
}
