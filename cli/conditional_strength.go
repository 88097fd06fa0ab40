package cli

import (
	"context"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// strengthPath is the Graph collection of authentication strengths, relative to /v1.0/. It
// lists the three built-ins (Azure's ids 00000000-0000-0000-0000-000000000002 to …004) and the
// tenant's own.
const strengthPath = "identity/conditionalAccess/authenticationStrength/policies"

func newCAStrengthCommand(a *app) *cobra.Command {
	return newGroup("authentication-strength", "Manage authentication strengths: which method combinations satisfy a policy.",
		newStrengthList(a), newStrengthShow(a), newStrengthCreate(a), newStrengthDelete(a))
}

func newStrengthList(a *app) *cobra.Command {
	return newGraphList(a, strengthPath, "List authentication strengths, built-in and custom.", "policyType eq 'custom'")
}

func newStrengthCreate(a *app) *cobra.Command {
	var name, description string
	var combos []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a custom authentication strength.",
		Example: `  latch conditional-access authentication-strength create --name "Keys only" \
      --allowed-combinations fido2 --allowed-combinations windowsHelloForBusiness`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			body, err := strengthBody(name, description, combos)
			if err != nil {
				return nil, err
			}
			return a.postGraph(ctx, strengthPath, body)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "The strength's display name.")
	f.StringVar(&description, "description", "", "What the strength is for.")
	f.StringArrayVar(&combos, "allowed-combinations", nil,
		"One allowed combination, its methods comma-separated (e.g. fido2, or password,softwareOath); repeat for more.")
	required(cmd, "name", "allowed-combinations")
	return cmd
}

// strengthBody builds an authenticationStrengthPolicy body. Each combination's methods are
// trimmed; the server decides which combinations exist.
func strengthBody(name, description string, combos []string) (map[string]any, error) {
	if len(combos) == 0 {
		return nil, usagef("Give at least one --allowed-combinations.")
	}
	out := make([]string, 0, len(combos))
	for _, c := range combos {
		var methods []string
		for _, m := range strings.Split(c, ",") {
			if m = strings.TrimSpace(m); m != "" {
				methods = append(methods, m)
			}
		}
		if len(methods) == 0 {
			return nil, usagef("--allowed-combinations: an empty combination.")
		}
		out = append(out, strings.Join(methods, ","))
	}
	body := map[string]any{"displayName": name, "allowedCombinations": out}
	if description != "" {
		body["description"] = description
	}
	return body, nil
}

// strengthCommand builds a command acting on one strength, given by --id (an id or a name).
func strengthCommand(a *app, use, short string, body objectBody) *cobra.Command {
	return namedObjectCommand(a, strengthPath, "Authentication strength", "The strength's id or display name.", use, short, body)
}

func newStrengthShow(a *app) *cobra.Command {
	return strengthCommand(a, "show", "Show an authentication strength.", func(ctx context.Context, g *graph, id string) (any, error) {
		return g.get(ctx, strengthPath+"/"+seg(id))
	})
}

func newStrengthDelete(a *app) *cobra.Command {
	return strengthCommand(a, "delete", "Delete a custom authentication strength (refused for built-ins and while a policy names it).",
		func(ctx context.Context, g *graph, id string) (any, error) {
			return nil, asNotFound(g.do(ctx, http.MethodDelete, strengthPath+"/"+seg(id), nil, nil, nil))
		})
}
