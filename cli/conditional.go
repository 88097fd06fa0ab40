package cli

import (
	"context"
	"net/http"
	"slices"

	"github.com/spf13/cobra"
)

// caPath is the Graph collection of Conditional Access policies, relative to /v1.0/.
const caPath = "identity/conditionalAccess/policies"

// policyStates are the states a policy may be put in, as Graph names them.
var policyStates = []string{"enabled", "disabled", "enabledForReportingButNotEnforced"}

func newConditionalAccessCommand(a *app) *cobra.Command {
	policy := newGroup("policy", "Manage Conditional Access policies.",
		newCAPolicyCreate(a), newCAPolicyList(a), newCAPolicyShow(a), newCAPolicyUpdate(a), newCAPolicyDelete(a))
	return newGroup("conditional-access", "Manage Conditional Access and ask what it would decide.",
		policy, newCANamedLocationCommand(a), newCAStrengthCommand(a), newCAWhatIf(a))
}

// policyFields holds the flags that shape a policy body: --body, and --name and --state,
// which override the body's displayName and state.
type policyFields struct{ body, name, state string }

func (p *policyFields) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.body, "body", "", "The policy as Graph's conditionalAccessPolicy JSON: @file, a path to a file, or JSON text.")
	f.StringVar(&p.name, "name", "", "The policy's display name.")
	f.StringVar(&p.state, "state", "", "enabled, disabled or enabledForReportingButNotEnforced.")
}

// object builds the request body; with no --body it holds only the flags given.
func (p *policyFields) object() (map[string]any, error) {
	obj := map[string]any{}
	if p.body != "" {
		v, err := readJSONArg(p.body, "--body")
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, usagef("--body must be a JSON object, a conditionalAccessPolicy.")
		}
		obj = m
	}
	if p.state != "" && !slices.Contains(policyStates, p.state) {
		return nil, usagef("--state must be one of %v.", policyStates)
	}
	for k, v := range map[string]string{"displayName": p.name, "state": p.state} {
		if v != "" {
			obj[k] = v
		}
	}
	return obj, nil
}

func newCAPolicyCreate(a *app) *cobra.Command {
	var p policyFields
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a Conditional Access policy.",
		Example: `  latch conditional-access policy create --body @vm-phishing-resistant.json --state enabledForReportingButNotEnforced`,
		Args:    cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			body, err := p.object()
			if err != nil {
				return nil, err
			}
			return a.postGraph(ctx, caPath, body)
		}),
	}
	p.add(cmd)
	required(cmd, "body")
	return cmd
}

func newCAPolicyList(a *app) *cobra.Command {
	return newGraphList(a, caPath, "List Conditional Access policies.", "state eq 'enabled'")
}

// policyCommand builds a command acting on one policy, given by --id (an id or a name).
func policyCommand(a *app, use, short string, body objectBody) *cobra.Command {
	return namedObjectCommand(a, caPath, "Conditional Access policy", "The policy's id or display name.", use, short, body)
}

func newCAPolicyShow(a *app) *cobra.Command {
	return policyCommand(a, "show", "Show a Conditional Access policy.", func(ctx context.Context, g *graph, id string) (any, error) {
		return g.get(ctx, caPath+"/"+seg(id))
	})
}

func newCAPolicyUpdate(a *app) *cobra.Command {
	var p policyFields
	cmd := policyCommand(a, "update", "Change a Conditional Access policy; the properties given replace the stored ones.",
		func(ctx context.Context, g *graph, id string) (any, error) {
			body, err := p.object()
			if err != nil {
				return nil, err
			}
			if len(body) == 0 {
				return nil, usagef("Give --body, --name or --state to change.")
			}
			if err := g.do(ctx, http.MethodPatch, caPath+"/"+seg(id), nil, body, nil); err != nil {
				return nil, asNotFound(err)
			}
			return g.get(ctx, caPath+"/"+seg(id))
		})
	p.add(cmd)
	return cmd
}

func newCAPolicyDelete(a *app) *cobra.Command {
	return policyCommand(a, "delete", "Delete a Conditional Access policy.", func(ctx context.Context, g *graph, id string) (any, error) {
		return nil, asNotFound(g.do(ctx, http.MethodDelete, caPath+"/"+seg(id), nil, nil, nil))
	})
}
