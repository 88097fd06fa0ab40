package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// objectBody is what a command does with one directory object once its id is resolved.
type objectBody func(ctx context.Context, g *graph, id string) (any, error)

// objectCommand builds a command acting on one Graph object named by a flag: it signs in to
// Graph, resolves the flag's value (an id or a name) with resolve, and runs body with the id.
// It returns the flag's variable so callers can read or register it further.
func objectCommand(a *app, use, short string, resolve func(*graph, context.Context, string) (string, error), body objectBody) (*cobra.Command, *string) {
	var ref string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			id, err := resolve(g, ctx, ref)
			if err != nil {
				return nil, err
			}
			return body(ctx, g, id)
		}),
	}
	return cmd, &ref
}
