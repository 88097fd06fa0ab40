package cli

import (
	"context"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// addTAPCommand puts "tap" under "ad user": Temporary Access Passes, which let a person sign
// in once (or for a while) to register their first passkey.
func addTAPCommand(root *cobra.Command, a *app) {
	for _, ad := range root.Commands() {
		if ad.Name() != "ad" {
			continue
		}
		for _, user := range ad.Commands() {
			if user.Name() == "user" {
				user.AddCommand(newGroup("tap", "Manage users' Temporary Access Passes.", newTAPCreate(a)))
			}
		}
	}
}

// tapCreateOptions are the flags of "ad user tap create".
type tapCreateOptions struct {
	upn      string
	oneTime  bool
	lifetime time.Duration
}

func newTAPCreate(a *app) *cobra.Command {
	var o tapCreateOptions
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a Temporary Access Pass for a user.",
		Long: `Create a Temporary Access Pass for a user, with Graph's temporaryAccessPassMethods.

The pass is printed once, in "temporaryAccessPass"; give it to the person over a channel you
trust. They sign in with it on the sign-in page ("Use another way") and register a passkey.`,
		Example: `  Create a one-time pass valid for an hour.
    latch ad user tap create --upn alice@contoso.test --one-time --lifetime 1h`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) { return a.createTAP(ctx, o) }),
	}
	f := cmd.Flags()
	f.StringVar(&o.upn, "upn", "", "The user's principal name or object id.")
	f.BoolVar(&o.oneTime, "one-time", false, "The pass works for one sign-in only.")
	f.DurationVar(&o.lifetime, "lifetime", time.Hour, "How long the pass is valid, from 10m to 720h (30 days).")
	required(cmd, "upn")
	return cmd
}

func (a *app) createTAP(ctx context.Context, o tapCreateOptions) (any, error) {
	minutes := int(o.lifetime / time.Minute)
	if o.lifetime%time.Minute != 0 || minutes < 10 || minutes > 43200 {
		return nil, usagef("--lifetime must be whole minutes between 10m and 720h, not %s", o.lifetime)
	}
	g, err := a.graph(ctx)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"isUsableOnce": o.oneTime, "lifetimeInMinutes": minutes}
	var pass map[string]any
	err = g.do(ctx, http.MethodPost, "users/"+seg(o.upn)+"/authentication/temporaryAccessPassMethods", nil, body, &pass)
	return pass, asNotFound(err)
}
