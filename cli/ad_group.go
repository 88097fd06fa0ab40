package cli

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"
)

func newGroupCommand(a *app) *cobra.Command {
	member := newGroup("member", "Manage group membership.",
		newMemberAdd(a), newMemberList(a), newMemberRemove(a), newMemberCheck(a))
	return newGroup("group", "Manage the directory's groups.",
		newGroupCreate(a), newGroupList(a), newGroupShow(a), newGroupDelete(a), member)
}

func newGroupCreate(a *app) *cobra.Command {
	var displayName, nick, description string
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a group.",
		Example: `  latch ad group create --display-name "Linux admins" --mail-nickname linux-admins`,
		Args:    cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			body := map[string]any{"displayName": displayName, "mailNickname": nick, "mailEnabled": false, "securityEnabled": true}
			if description != "" {
				body["description"] = description
			}
			var group map[string]any
			err = g.do(ctx, http.MethodPost, "groups", nil, body, &group)
			return group, err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&displayName, "display-name", "", "Object's display name.")
	f.StringVar(&nick, "mail-nickname", "", "Mail nickname.")
	f.StringVar(&description, "description", "", "Group description.")
	required(cmd, "display-name", "mail-nickname")
	return cmd
}

func newGroupList(a *app) *cobra.Command {
	var displayName, filter string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List groups in the directory.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			items, _, err := g.list(ctx, "groups", filterQuery(odataStartsWith("displayName", displayName), filter), false)
			return items, err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&displayName, "display-name", "", "Object's display name or its prefix.")
	f.StringVar(&filter, "filter", "", "OData filter, e.g. --filter \"displayname eq 'test'\".")
	return cmd
}

// groupFlag adds --group/-g, which takes an object id or a display name, as in az.
func groupFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "group", "g", "", "Group's object id or display name.")
	required(cmd, "group")
}

// resolveGroup turns a display name into an object id; an id is used as it is. A name that
// matches no group is "not found" (exit 3); one that matches several is refused, since acting
// on the wrong group is worse than asking for its id.
func (g *graph) resolveGroup(ctx context.Context, idOrName string) (string, error) {
	if isGUID(idOrName) {
		return idOrName, nil
	}
	items, _, err := g.list(ctx, "groups", filterQuery(odataEq("displayName", idOrName)), false)
	switch {
	case err != nil:
		return "", err
	case len(items) == 0:
		return "", notFoundf("Group '%s' is not found in the directory.", idOrName)
	case len(items) > 1:
		return "", failf("More than one group has the display name '%s'; use the object id instead.", idOrName)
	}
	return objectID(items[0]), nil
}

// groupCommand builds a command acting on one group, resolved before body runs.
func groupCommand(a *app, use, short string, body objectBody) (*cobra.Command, *string) {
	cmd, group := objectCommand(a, use, short, (*graph).resolveGroup, body)
	groupFlag(cmd, group)
	return cmd, group
}

func newGroupShow(a *app) *cobra.Command {
	cmd, _ := groupCommand(a, "show", "Get the details of a group.", func(ctx context.Context, g *graph, gid string) (any, error) {
		return g.get(ctx, "groups/"+seg(gid))
	})
	return cmd
}

func newGroupDelete(a *app) *cobra.Command {
	cmd, _ := groupCommand(a, "delete", "Delete a group.", func(ctx context.Context, g *graph, gid string) (any, error) {
		return nil, g.do(ctx, http.MethodDelete, "groups/"+seg(gid), nil, nil, nil)
	})
	return cmd
}

// memberCommand is groupCommand plus --member-id.
func memberCommand(a *app, use, short string, body func(ctx context.Context, g *graph, gid, mid string) (any, error)) *cobra.Command {
	var member string
	cmd, _ := groupCommand(a, use, short, func(ctx context.Context, g *graph, gid string) (any, error) {
		return body(ctx, g, gid, member)
	})
	cmd.Flags().StringVar(&member, "member-id", "", "The object id of the member (user, group or service principal).")
	required(cmd, "member-id")
	return cmd
}

func newMemberAdd(a *app) *cobra.Command {
	return memberCommand(a, "add", "Add a member to a group.", func(ctx context.Context, g *graph, gid, mid string) (any, error) {
		ref := map[string]string{"@odata.id": g.base + "directoryObjects/" + seg(mid)}
		return nil, g.do(ctx, http.MethodPost, "groups/"+seg(gid)+"/members/$ref", nil, ref, nil)
	})
}

func newMemberRemove(a *app) *cobra.Command {
	return memberCommand(a, "remove", "Remove a member from a group.", func(ctx context.Context, g *graph, gid, mid string) (any, error) {
		return nil, g.do(ctx, http.MethodDelete, "groups/"+seg(gid)+"/members/"+seg(mid)+"/$ref", nil, nil, nil)
	})
}

func newMemberList(a *app) *cobra.Command {
	cmd, _ := groupCommand(a, "list", "Get the members of a group.", func(ctx context.Context, g *graph, gid string) (any, error) {
		items, _, err := g.list(ctx, "groups/"+seg(gid)+"/members", nil, false)
		return items, err
	})
	return cmd
}

func newMemberCheck(a *app) *cobra.Command {
	cmd := memberCommand(a, "check", "Check if a member is in a group.", func(ctx context.Context, g *graph, gid, mid string) (any, error) {
		items, _, err := g.list(ctx, "groups/"+seg(gid)+"/members", nil, false)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if objectID(it) == mid {
				return map[string]any{"value": true}, nil
			}
		}
		return map[string]any{"value": false}, nil
	})
	cmd.Long = "Check if a member is a direct member of a group. Prints {\"value\": true} or {\"value\": false}."
	return cmd
}
