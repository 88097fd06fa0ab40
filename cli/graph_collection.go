package cli

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"
)

// newGraphList is the "list" command of a Graph collection at path: every object, or those an
// OData --filter keeps. filterExample completes the flag's help ("displayName eq 'Office'").
func newGraphList(a *app, path, short, filterExample string) *cobra.Command {
	var filter string
	cmd := &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			items, _, err := g.list(ctx, path, filterQuery(filter), false)
			return items, err
		}),
	}
	cmd.Flags().StringVar(&filter, "filter", "", "OData filter, e.g. --filter \""+filterExample+"\".")
	return cmd
}

// postGraph creates an object in the Graph collection at path and returns the server's answer.
func (a *app) postGraph(ctx context.Context, path string, body any) (map[string]any, error) {
	g, err := a.graph(ctx)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = g.do(ctx, http.MethodPost, path, nil, body, &out)
	return out, err
}

// resolveByName turns a display name into the id of the one object of collection path that
// has it; an id is used as it is. what names the kind of object in messages.
func (g *graph) resolveByName(ctx context.Context, path, what, idOrName string) (string, error) {
	if isGUID(idOrName) {
		return idOrName, nil
	}
	items, _, err := g.list(ctx, path, filterQuery(odataEq("displayName", idOrName)), false)
	switch {
	case err != nil:
		return "", err
	case len(items) == 0:
		return "", notFoundf("%s '%s' is not found.", what, idOrName)
	case len(items) > 1:
		return "", failf("More than one %s is named '%s'; use its id instead.", what, idOrName)
	}
	return objectID(items[0]), nil
}

// namedObjectCommand builds a command acting on one object of the Graph collection at path,
// named by --id: its id, or a display name that names exactly one (what names the kind in
// the errors).
func namedObjectCommand(a *app, path, what, idHelp, use, short string, body objectBody) *cobra.Command {
	resolve := func(g *graph, ctx context.Context, ref string) (string, error) {
		return g.resolveByName(ctx, path, what, ref)
	}
	cmd, id := objectCommand(a, use, short, resolve, body)
	cmd.Flags().StringVar(id, "id", "", idHelp)
	required(cmd, "id")
	return cmd
}
