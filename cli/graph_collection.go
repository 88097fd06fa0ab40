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
