package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
)

func newLogoutCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Log out to remove access to Latch.",
		Long:  "Log out: remove the account, its tokens, SSH keys and certificates and any service principal secret from this computer.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			dir, err := a.configDir()
			if err != nil {
				return nil, err
			}
			if _, err := loadProfile(dir); err != nil {
				return nil, failf("There are no active accounts.")
			}
			unlock, err := lockState(dir)
			if err != nil {
				return nil, err
			}
			defer unlock()
			if err := removeState(dir); err != nil {
				return nil, err
			}
			return nil, removeSSHKeys(dir)
		}),
	}
}

func newAccountCommand(a *app) *cobra.Command {
	return newGroup("account", "Manage Latch subscription information.",
		newAccountShow(a), newAccountList(a), newAccountSet(a), newGetAccessToken(a), newManagementGroupCommand(a))
}

func newAccountShow(a *app) *cobra.Command {
	var sub string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Get the details of a subscription.",
		Long:  "Get the details of a subscription. If no subscription is specified, shows the default one. This reads the local profile and makes no request.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			s, err := a.session()
			if err != nil {
				return nil, err
			}
			chosen, err := s.prof.pick(sub)
			if err != nil {
				return nil, err
			}
			return accountView(s.prof, *chosen, "environmentName"), nil
		}),
	}
	cmd.Flags().StringVarP(&sub, "subscription", "s", "", "Name or ID of subscription.")
	return cmd
}

// pick is the named subscription, or the default one when name is empty.
func (p *profile) pick(name string) (*subscription, error) {
	if name == "" {
		if s := p.defaultSubscription(); s != nil {
			return s, nil
		}
		return nil, errNotLoggedIn
	}
	if s := p.findSubscription(name); s != nil {
		return s, nil
	}
	return nil, failf("Subscription '%s' not found. Check the spelling and casing and try again.", name)
}

func newAccountList(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Get a list of subscriptions for the logged in account.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			dir, err := a.configDir()
			if err != nil {
				return nil, err
			}
			prof, err := loadProfile(dir)
			if err != nil {
				// az lists nothing, with a hint, when nobody is logged in.
				a.warn("Please run \"latch login\" to access your accounts.")
				return []any{}, nil
			}
			return tabled{accountList(prof), accountTable}, nil
		}),
	}
}

func newAccountSet(a *app) *cobra.Command {
	var sub string
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Set a subscription to be the current active subscription.",
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			return nil, a.setSubscription(sub)
		}),
	}
	cmd.Flags().StringVarP(&sub, "subscription", "s", "", "Name or ID of subscription.")
	required(cmd, "subscription")
	return cmd
}

func (a *app) setSubscription(name string) error {
	dir, err := a.configDir()
	if err != nil {
		return err
	}
	unlock, err := lockState(dir)
	if err != nil {
		return err
	}
	defer unlock()
	prof, err := loadProfile(dir)
	if err != nil {
		return err
	}
	s := prof.findSubscription(name)
	if s == nil {
		return failf("The subscription of '%s' doesn't exist in cloud '%s'.", name, cloudName)
	}
	prof.setDefault(s.ID)
	return saveProfile(dir, prof)
}

// accessTokenOptions are the flags of "account get-access-token".
type accessTokenOptions struct {
	resource, resourceType, scope, subscription string
}

func newGetAccessToken(a *app) *cobra.Command {
	var o accessTokenOptions
	cmd := &cobra.Command{
		Use:   "get-access-token",
		Short: "Get a token for utilities to access Latch.",
		Long: `Get a token for utilities to access Latch.

The token is valid for at least five more minutes. Without --resource or --scope it is for the
resource manager (ARM) API; --resource-type ms-graph gives one for the directory (Graph) API.`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) { return a.getAccessToken(ctx, o) }),
	}
	f := cmd.Flags()
	f.StringVar(&o.resource, "resource", "", "Resource URI to get the token for, e.g. https://latch.example.com/arm/.")
	f.StringVar(&o.resourceType, "resource-type", "", "Type of well-known resource. Allowed values: arm, ms-graph.")
	f.StringVar(&o.scope, "scope", "", "Space-separated scopes, e.g. https://latch.example.com//.default.")
	f.StringVarP(&o.subscription, "subscription", "s", "", "Name or ID of subscription to get the token for.")
	return cmd
}

func (a *app) getAccessToken(ctx context.Context, o accessTokenOptions) (any, error) {
	if countSet(o.resource, o.resourceType, o.scope) > 1 {
		return nil, usagef("usage error: --resource, --resource-type and --scope are mutually exclusive")
	}
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	scope, err := o.scopeFor(s.prof.Server)
	if err != nil {
		return nil, err
	}
	sub, err := s.prof.pick(o.subscription)
	if err != nil {
		return nil, err
	}
	t, err := s.accessToken(ctx, scope)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"accessToken":  t.AccessToken,
		"expiresOn":    t.ExpiresOn.Local().Format("2006-01-02 15:04:05.000000"),
		"expires_on":   t.ExpiresOn.Unix(),
		"subscription": sub.ID,
		"tenant":       s.prof.Tenant,
		"tokenType":    t.TokenType,
	}, nil
}

func (o accessTokenOptions) scopeFor(server string) (string, error) {
	switch {
	case o.scope != "":
		return o.scope, nil
	case o.resource != "":
		return scopeFor(o.resource), nil
	case o.resourceType == "" || o.resourceType == "arm":
		return scopeFor(armResource(server)), nil
	case o.resourceType == "ms-graph":
		return scopeFor(graphResource(server)), nil
	}
	return "", usagef("argument --resource-type: invalid choice: '%s' (choose from 'arm', 'ms-graph')", o.resourceType)
}

func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			n++
		}
	}
	return n
}
