package httpapi

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
)

// whatIfRequest is the body of Latch's POST /v1.0/identity/conditionalAccess/evaluate: a
// sign-in to imagine. Methods are those the imagined sign-in used; with none, the answer says
// what the person would have to do.
type whatIfRequest struct {
	UserPrincipalName string   `json:"userPrincipalName"`
	AppID             string   `json:"appId"`
	IPAddress         string   `json:"ipAddress,omitempty"`
	ClientAppType     string   `json:"clientAppType,omitempty"`   // default browser
	SignInRiskLevel   string   `json:"signInRiskLevel,omitempty"` // default none
	Methods           []string `json:"methods,omitempty"`
}

// whatIfPolicy explains one policy's part in the decision.
type whatIfPolicy struct {
	ID            string   `json:"id"`
	DisplayName   string   `json:"displayName"`
	State         string   `json:"state"`
	Result        string   `json:"result"`
	UnmetControls []string `json:"unmetControls"`
	CanStepUp     bool     `json:"canStepUp"`
	Reason        string   `json:"reason"`
}

// evaluateCA answers what Conditional Access would decide for a sign-in of a user to an app
// from an address, using the user's registered methods for step-up, and why each policy
// applies or not. It changes nothing and logs no sign-in.
func (s *Server) evaluateCA(w http.ResponseWriter, r *http.Request, c Caller) error {
	ctx := r.Context()
	if err := s.authorizeDirectory(ctx, c, directory.Action("conditionalAccessPolicies", directory.ActionRead)); err != nil {
		return err
	}
	var req whatIfRequest
	if err := readGraphJSON(r, &req); err != nil {
		return err
	}
	in, dir, err := s.whatIfSignIn(ctx, c.TenantID, req)
	if err != nil {
		return err
	}
	policies, err := s.Store.ListConditionalAccessPolicies(ctx, c.TenantID)
	if err != nil {
		return err
	}
	locs, strengths, err := s.caReferences(ctx, c.TenantID)
	if err != nil {
		return err
	}
	res := conditional.Evaluate(policies, in, dir, locs, strengths)
	writeJSON(w, http.StatusOK, whatIfAnswer(res, in, dir))
	return nil
}

// whatIfSignIn builds the imagined sign-in from the request and the directory.
func (s *Server) whatIfSignIn(ctx context.Context, tenantID string, req whatIfRequest) (conditional.SignIn, conditional.DirectoryFacts, error) {
	const op = "httpapi.whatIfSignIn"
	var in conditional.SignIn
	if req.UserPrincipalName == "" || req.AppID == "" {
		return in, conditional.DirectoryFacts{}, graphBadRequest(op, "Give userPrincipalName and appId.")
	}
	u, err := s.Store.GetUserByUPN(ctx, tenantID, req.UserPrincipalName)
	if err != nil {
		return in, conditional.DirectoryFacts{}, asGraphError(op, req.UserPrincipalName, err)
	}
	now := s.now()
	in = conditional.SignIn{UserID: u.ID, AppID: strings.ToLower(req.AppID), ClientAppType: req.ClientAppType,
		SignInRisk: req.SignInRiskLevel, Methods: req.Methods, AuthTime: now, Now: now}
	if in.ClientAppType == "" {
		in.ClientAppType = conditional.ClientBrowser
	}
	if req.IPAddress != "" {
		if in.Address, err = netip.ParseAddr(req.IPAddress); err != nil {
			return in, conditional.DirectoryFacts{}, graphBadRequest(op, "ipAddress '"+truncate(req.IPAddress, 64)+"' is not an IP address.")
		}
	}
	if in.Groups, in.Roles, err = s.userFacts(ctx, tenantID, u.ID); err != nil {
		return in, conditional.DirectoryFacts{}, err
	}
	methods, err := s.registeredMethods(ctx, u)
	return in, conditional.DirectoryFacts{PerUserMFA: u.MFA, RegisteredMethods: methods}, err
}

// rolesOf lists the directory role template ids assigned to any of holders, once each.
func rolesOf(holders []string, assignments []directory.RoleAssignment) []string {
	var roles []string
	for _, a := range assignments {
		if slices.Contains(holders, a.PrincipalID) && !slices.Contains(roles, a.RoleDefinitionID) {
			roles = append(roles, a.RoleDefinitionID)
		}
	}
	return roles
}

// registeredMethods lists the methods a user could sign in with: a password, each kind of
// passkey, and a confirmed authenticator app.
func (s *Server) registeredMethods(ctx context.Context, u directory.User) ([]string, error) {
	var out []string
	if u.Password.Hash != "" {
		out = append(out, authn.MethodPassword)
	}
	passkeys, err := s.Store.ListPasskeys(ctx, u.TenantID, u.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range passkeys {
		if !slices.Contains(out, p.Method) {
			out = append(out, p.Method)
		}
	}
	totps, err := s.Store.ListTOTP(ctx, u.TenantID, u.ID)
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(totps, func(m authn.TOTPMethod) bool { return m.Confirmed }) {
		out = append(out, authn.MethodSoftwareOath)
	}
	return out, nil
}

// caReferences loads what policies refer to: the tenant's named locations and custom strengths.
func (s *Server) caReferences(ctx context.Context, tenantID string) ([]conditional.NamedLocation, map[string]conditional.Strength, error) {
	locs, err := s.Store.ListNamedLocations(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	custom, err := s.Store.ListAuthenticationStrengths(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	strengths := make(map[string]conditional.Strength, len(custom))
	for _, st := range custom {
		strengths[st.ID] = st
	}
	return locs, strengths, nil
}

// whatIfAnswer is the response: the decision, what the person would see, and every policy.
func whatIfAnswer(res conditional.Result, in conditional.SignIn, dir conditional.DirectoryFacts) map[string]any {
	policies := make([]whatIfPolicy, 0, len(res.Policies))
	for _, pr := range res.Policies {
		p := res.PolicyOf(pr)
		policies = append(policies, whatIfPolicy{ID: p.ID, DisplayName: p.DisplayName, State: string(p.State),
			Result: pr.Result.String(), UnmetControls: nonNil(pr.Unmet.Names()), CanStepUp: pr.CanStepUp,
			Reason: reasonFor(pr, p, in)})
	}
	return map[string]any{"outcome": res.Outcome.String(), "conditionalAccessStatus": res.Status,
		"message": res.Message, "errorCode": res.ErrorCode, "detail": res.Detail,
		"stepUpStrengths": nonNil(res.StepUpStrengths), "reauthenticate": res.Reauthenticate,
		"registeredMethods": nonNil(dir.RegisteredMethods), "policies": policies}
}

// reasonFor says in words why a policy got its result.
func reasonFor(pr conditional.PolicyResult, p *conditional.Policy, in conditional.SignIn) string {
	switch pr.Result {
	case conditional.NotEnabled:
		return "The policy is disabled."
	case conditional.NotApplied, conditional.ReportOnlyNotApplied:
		return "The policy does not apply: " + whyNotApplied(p, in) + "."
	case conditional.Success, conditional.ReportOnlySuccess:
		return "The policy applies and the sign-in satisfies its controls."
	}
	msg := "The policy applies and the sign-in does not satisfy: " + strings.Join(pr.Unmet.Names(), ", ") + "."
	if pr.CanStepUp {
		msg += " The user could satisfy it by signing in again with a registered method."
	}
	if pr.Result == conditional.ReportOnlyFailure {
		msg += " Report-only: it is logged, not enforced."
	}
	return msg
}

// whyNotApplied names the first target the sign-in misses: users, then applications; past
// those, one of the other conditions (risk, client app, location, platform) did not match.
func whyNotApplied(p *conditional.Policy, in conditional.SignIn) string {
	u := p.Conditions.Users
	targeted := slices.Contains(u.IncludeUsers, conditional.All) || slices.Contains(u.IncludeUsers, in.UserID) ||
		anyIn(u.IncludeGroups, in.Groups) || anyIn(u.IncludeRoles, in.Roles)
	excluded := slices.Contains(u.ExcludeUsers, in.UserID) || anyIn(u.ExcludeGroups, in.Groups) || anyIn(u.ExcludeRoles, in.Roles)
	a := p.Conditions.Applications
	switch {
	case !targeted:
		return "the user is not among its users, groups or roles"
	case excluded:
		return "the user is excluded"
	case !slices.Contains(a.IncludeApplications, conditional.All) && !slices.ContainsFunc(a.IncludeApplications, eqFold(in.AppID)):
		return "the application " + in.AppID + " is not among its applications"
	case slices.ContainsFunc(a.ExcludeApplications, eqFold(in.AppID)):
		return "the application " + in.AppID + " is excluded"
	}
	return "a condition on sign-in risk, client app, location or platform does not match"
}

func anyIn(list, have []string) bool {
	return slices.ContainsFunc(list, func(id string) bool { return slices.ContainsFunc(have, eqFold(id)) })
}

func eqFold(a string) func(string) bool {
	return func(b string) bool { return strings.EqualFold(a, b) }
}
