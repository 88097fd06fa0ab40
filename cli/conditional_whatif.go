package cli

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"
)

// newCAWhatIf asks the server what Conditional Access would decide for a sign-in, and why
// each policy applies or not. It changes nothing.
func newCAWhatIf(a *app) *cobra.Command {
	var user, app, ip, clientApp, risk string
	var methods []string
	cmd := &cobra.Command{
		Use:   "what-if",
		Short: "Explain which Conditional Access policies would apply to a sign-in, and why.",
		Example: `  latch conditional-access what-if --user alice@contoso.test --app 372140e0-b3b7-4226-8ef9-d57986796201 --ip 192.0.2.7
  latch conditional-access what-if --user alice@contoso.test --app 372140e0-b3b7-4226-8ef9-d57986796201 --methods password softwareOath`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			g, err := a.graph(ctx)
			if err != nil {
				return nil, err
			}
			body := map[string]any{"userPrincipalName": user, "appId": app}
			for k, v := range map[string]string{"ipAddress": ip, "clientAppType": clientApp, "signInRiskLevel": risk} {
				if v != "" {
					body[k] = v
				}
			}
			if len(methods) > 0 {
				body["methods"] = methods
			}
			var out map[string]any
			err = g.do(ctx, http.MethodPost, "identity/conditionalAccess/evaluate", nil, body, &out)
			return out, asNotFound(err)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "The user's principal name.")
	f.StringVar(&app, "app", "", "The application (client) id signed in to.")
	f.StringVar(&ip, "ip", "", "The client address.")
	f.StringVar(&clientApp, "client-app-type", "", "browser (default), mobileAppsAndDesktopClients, exchangeActiveSync or other.")
	f.StringVar(&risk, "sign-in-risk", "", "none (default), low, medium or high.")
	listFlag(cmd, &methods, "methods", "", "", "Space-separated methods the sign-in used, e.g. password softwareOath; none asks what would be required.")
	required(cmd, "user", "app")
	return cmd
}
