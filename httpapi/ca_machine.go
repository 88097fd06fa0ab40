package httpapi

import (
	"context"
	"strings"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/machineapi"
)

// Conditional Access on the machine. The goal state tells a machine, per user, what the
// enforced policies ask of a login to it, so the agent can check the certificate's methods
// (token.SSHCertExtensionMethods) again at login, even after a policy changed since the
// certificate was issued. Only what does not depend on the client is sent: the user, the
// Linux VM sign-in app and the methods. Policies with a location condition are enforced at
// issuance only (the machine cannot know where the certificate was requested from), and so
// are risk, platform and sign-in frequency conditions, which the evaluation here leaves
// unmet by giving no address, risk, platform or sign-in time.

// caLoginRequirements fills u.Requirements and u.Block for user's logins to any VM: the
// evaluation names the Linux VM sign-in app, not the VM, so one answer serves every VM.
// groups and dirRoles are the tenant's, as the login table read them.
func (s *Server) caLoginRequirements(ctx context.Context, tenantID string, user directory.User, groups []directory.Group,
	dirRoles []directory.RoleAssignment, u *machineapi.LoginUser) error {
	cc, err := s.caEvaluator(ctx, tenantID)
	if err != nil {
		return err
	}
	in := conditional.SignIn{UserID: user.ID, AppID: directory.LinuxVMSignInAppID,
		ClientAppType: conditional.ClientMobileAndDesktop, Now: s.now()}
	in.Groups = directory.TransitiveGroups(user.ID, groups)
	in.Roles = rolesOf(append([]string{user.ID}, in.Groups...), dirRoles)
	// Only failures matter here, and a compact result keeps every one: the goal state asks
	// this for each user of a machine, and a full Result per user would be one entry per policy.
	res := cc.ev.EvaluateCompact(in, conditional.DirectoryFacts{PerUserMFA: user.MFA})
	var strengths []conditional.Strength
	for _, pr := range res.Policies {
		p := res.PolicyOf(pr)
		if pr.Result != conditional.Failure || !conditional.AddressIndependent(p) {
			continue
		}
		if block := machineBlock(pr, p); block != "" {
			u.Block, u.Requirements = block, nil
			return nil
		}
		if pr.Unmet&(conditional.NeedMFA|conditional.NeedStrength) != 0 {
			strengths = append(strengths, strengthByID(conditional.RequiredStrength(p), cc.custom))
		}
	}
	u.Requirements = conditional.CombinationsSatisfyingAll(strengths)
	if len(strengths) > 0 && len(u.Requirements) == 0 {
		u.Block = "Conditional Access: no sign-in method satisfies every required authentication strength"
	}
	return nil
}

// machineBlock is the name a login is blocked under when policy p's unmet controls include
// one no sign-in method can satisfy (block, a compliant or joined device, an approved app),
// else "".
func machineBlock(pr conditional.PolicyResult, p *conditional.Policy) string {
	const methodControls = conditional.NeedMFA | conditional.NeedStrength | conditional.NeedSignInFrequency | conditional.NeedPasswordChange
	if pr.Unmet&^methodControls == 0 {
		return ""
	}
	return p.DisplayName
}

// strengthByID finds a built-in or custom strength; an unknown id is an empty strength, which
// nothing satisfies, so the login is blocked rather than let through.
func strengthByID(id string, custom []conditional.Strength) conditional.Strength {
	if st, ok := conditional.BuiltInStrength(id); ok {
		return st
	}
	for _, st := range custom {
		if strings.EqualFold(st.ID, id) {
			return st
		}
	}
	return conditional.Strength{ID: id}
}
