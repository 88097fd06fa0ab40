package cli

import (
	"context"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

func newUserCommand(a *app) *cobra.Command {
	return newGroup("user", "Manage the directory's users.",
		newUserCreate(a), newUserList(a), newUserShow(a), newUserUpdate(a), newUserDelete(a))
}

// userCreateOptions are the flags of "ad user create".
type userCreateOptions struct {
	displayName, password, upn, mailNickname string
	forceChange                              bool
}

func newUserCreate(a *app) *cobra.Command {
	var o userCreateOptions
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a user.",
		Example: `  Create a user who must change the password at the first sign-in.
    latch ad user create --display-name "Alice Smith" --user-principal-name alice@contoso.test --password "$PW" --force-change-password-next-sign-in`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			var user map[string]any
			err = g.do(ctx, http.MethodPost, "users", nil, o.body(), &user)
			return user, err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.displayName, "display-name", "", "Object's display name.")
	f.StringVar(&o.password, "password", "", "The password that should be assigned to the user for authentication.")
	f.StringVar(&o.upn, "user-principal-name", "", "The user principal name (someuser@contoso.com). It must contain one of the verified domains for the tenant.")
	f.StringVar(&o.mailNickname, "mail-nickname", "", "Mail alias. Defaults to user principal name's local part.")
	f.BoolVar(&o.forceChange, "force-change-password-next-sign-in", false, "Marks this user as needing to update their password the next time they authenticate. If omitted, false will be used.")
	required(cmd, "display-name", "password", "user-principal-name")
	return cmd
}

func (o userCreateOptions) body() map[string]any {
	nick := o.mailNickname
	if nick == "" {
		nick, _, _ = strings.Cut(o.upn, "@")
	}
	return map[string]any{
		"accountEnabled":    true,
		"displayName":       o.displayName,
		"mailNickname":      nick,
		"userPrincipalName": o.upn,
		"passwordProfile": map[string]any{
			"password":                      o.password,
			"forceChangePasswordNextSignIn": o.forceChange,
		},
	}
}

func newUserList(a *app) *cobra.Command {
	var upn, displayName, filter string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users in the directory.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			q := filterQuery(odataEq("userPrincipalName", upn), odataStartsWith("displayName", displayName), filter)
			items, _, err := g.list(ctx, "users", q, false)
			return items, err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&upn, "upn", "", "User principal name, e.g. john.doe@contoso.com.")
	f.StringVar(&displayName, "display-name", "", "Object's display name or its prefix.")
	f.StringVar(&filter, "filter", "", "OData filter, e.g. --filter \"displayname eq 'test' and servicePrincipalType eq 'Application'\".")
	return cmd
}

func newUserShow(a *app) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Get the details of a user.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			return g.get(ctx, "users/"+seg(id))
		}),
	}
	cmd.Flags().StringVar(&id, "id", "", "User's object id or principal name.")
	required(cmd, "id")
	return cmd
}

func newUserDelete(a *app) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a user.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			return nil, g.do(ctx, http.MethodDelete, "users/"+seg(id), nil, nil, nil)
		}),
	}
	cmd.Flags().StringVar(&id, "id", "", "User's object id or principal name.")
	required(cmd, "id")
	return cmd
}

// userUpdateOptions are the flags of "ad user update".
type userUpdateOptions struct {
	id, displayName, password string
	accountEnabled            bool
	forceChange               bool
}

func newUserUpdate(a *app) *cobra.Command {
	var o userUpdateOptions
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Update a user.",
		Example: `  Disable a user and require a new password at the next sign-in.
    latch ad user update --id alice@contoso.test --account-enabled false
    latch ad user update --id alice@contoso.test --password "$PW" --force-change-password-next-sign-in`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			body, err := o.body(cmd)
			if err != nil {
				return nil, err
			}
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			return nil, g.do(ctx, http.MethodPatch, "users/"+seg(o.id), nil, body, nil)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.id, "id", "", "User's object id or principal name.")
	f.StringVar(&o.displayName, "display-name", "", "Object's display name.")
	f.BoolVar(&o.accountEnabled, "account-enabled", false, "Enable or disable the user: true or false.")
	f.StringVar(&o.password, "password", "", "User password.")
	f.BoolVar(&o.forceChange, "force-change-password-next-sign-in", false, "If the user must change the password on the next login: true or false.")
	required(cmd, "id")
	return cmd
}

// body is the PATCH with only the fields that were given.
func (o userUpdateOptions) body(cmd *cobra.Command) (map[string]any, error) {
	f := cmd.Flags()
	body := map[string]any{}
	if f.Changed("display-name") {
		body["displayName"] = o.displayName
	}
	if f.Changed("account-enabled") {
		body["accountEnabled"] = o.accountEnabled
	}
	pp := map[string]any{}
	if f.Changed("password") {
		pp["password"] = o.password
	}
	if f.Changed("force-change-password-next-sign-in") {
		pp["forceChangePasswordNextSignIn"] = o.forceChange
	}
	if len(pp) > 0 {
		body["passwordProfile"] = pp
	}
	if len(body) == 0 {
		return nil, usagef("usage error: give at least one of --display-name, --account-enabled, --password, --force-change-password-next-sign-in")
	}
	return body, nil
}
