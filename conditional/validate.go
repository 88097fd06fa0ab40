package conditional

import (
	"fmt"
	"slices"
	"strings"

	"github.com/latchsh/latch/errs"
)

// ParsePolicy reads a conditionalAccessPolicy in Graph's JSON, strictly: unknown fields at
// any level, duplicate keys, trailing data and documents over MaxJSONBytes are refused, and
// the result must pass Validate. Times are normalised to UTC.
//
// Errors: Invalid, with a message listing every problem found.
func ParsePolicy(b []byte) (Policy, error) {
	const op = "conditional.ParsePolicy"
	var p Policy
	if err := decodeStrict(b, &p); err != nil {
		return Policy{}, errs.E(op, errs.Invalid, "The Conditional Access policy is not valid JSON of the conditionalAccessPolicy shape: "+err.Error(), err)
	}
	p.Created, p.Modified = p.Created.UTC(), p.Modified.UTC()
	if err := p.Validate(); err != nil {
		return Policy{}, errs.E(op, errs.Invalid, errs.Message(err))
	}
	return p, nil
}

// Validate applies Graph's rules for a policy write, and Latch's refusals of what it cannot
// enforce. It reports every problem at once.
//
// Errors: Invalid, whose message lists the problems.
func (p Policy) Validate() error {
	v := &problems{}
	if strings.TrimSpace(p.DisplayName) == "" || len(p.DisplayName) > 256 {
		v.add("displayName must be 1 to 256 characters")
	}
	if !slices.Contains([]State{StateEnabled, StateDisabled, StateReportOnly}, p.State) {
		v.add("state must be enabled, disabled or enabledForReportingButNotEnforced")
	}
	p.Conditions.validate(v)
	if p.GrantControls == nil && (p.SessionControls == nil || p.SessionControls.SignInFrequency == nil) {
		v.add("a policy needs grantControls or a sessionControls.signInFrequency")
	}
	if p.GrantControls != nil {
		p.GrantControls.validate(v)
	}
	if p.SessionControls != nil {
		p.SessionControls.validate(v)
	}
	v.unsupported("templateId", p.TemplateID)
	return v.err("conditional.Policy.Validate", "The Conditional Access policy is not valid")
}

// problems collects validation failures so one answer names them all.
type problems struct{ list []string }

func (v *problems) add(format string, a ...any) { v.list = append(v.list, fmt.Sprintf(format, a...)) }

func (v *problems) unsupported(field string, u Unsupported) {
	if u.Set {
		v.add("%s is not supported by Latch; leave it out or null", field)
	}
}

func (v *problems) err(op, lead string) error {
	if len(v.list) == 0 {
		return nil
	}
	return errs.E(op, errs.Invalid, lead+": "+strings.Join(v.list, "; ")+".")
}

func (c Conditions) validate(v *problems) {
	c.Users.validate(v)
	c.Applications.validate(v)
	levels := []string{RiskLow, RiskMedium, RiskHigh, RiskNone}
	v.values("conditions.signInRiskLevels", c.SignInRiskLevels, levels)
	v.values("conditions.userRiskLevels", c.UserRiskLevels, levels)
	v.values("conditions.clientAppTypes", c.ClientAppTypes, []string{ClientAll, ClientBrowser,
		ClientMobileAndDesktop, ClientExchangeActiveSync, ClientOther})
	v.alone("conditions.clientAppTypes", c.ClientAppTypes, ClientAll)
	if c.Locations != nil {
		c.Locations.validate(v)
	}
	if c.Platforms != nil {
		c.Platforms.validate(v)
	}
	v.unsupported("conditions.servicePrincipalRiskLevels", c.SPRiskLevels)
	v.unsupported("conditions.insiderRiskLevels", c.InsiderRiskLevels)
	v.unsupported("conditions.devices", c.Devices)
	v.unsupported("conditions.clientApplications", c.ClientApps)
	v.unsupported("conditions.authenticationFlows", c.AuthFlows)
}

func (u Users) validate(v *problems) {
	if len(u.IncludeUsers)+len(u.IncludeGroups)+len(u.IncludeRoles) == 0 && u.IncludeGuests == nil {
		v.add("conditions.users must include someone (includeUsers, includeGroups, includeRoles or includeGuestsOrExternalUsers)")
	}
	v.ids("conditions.users.includeUsers", u.IncludeUsers, All, None, GuestsOrExternalUsers)
	v.alone("conditions.users.includeUsers", u.IncludeUsers, All, None)
	v.ids("conditions.users.excludeUsers", u.ExcludeUsers, GuestsOrExternalUsers)
	v.ids("conditions.users.includeGroups", u.IncludeGroups)
	v.ids("conditions.users.excludeGroups", u.ExcludeGroups)
	v.ids("conditions.users.includeRoles", u.IncludeRoles)
	v.ids("conditions.users.excludeRoles", u.ExcludeRoles)
	u.IncludeGuests.validate(v, "conditions.users.includeGuestsOrExternalUsers")
	u.ExcludeGuests.validate(v, "conditions.users.excludeGuestsOrExternalUsers")
}

// guestTypes are conditionalAccessGuestOrExternalUserTypes' flags.
var guestTypes = []string{"internalGuest", "b2bCollaborationGuest", "b2bCollaborationMember",
	"b2bDirectConnectUser", "otherExternalUser", "serviceProvider"}

func (g *Guests) validate(v *problems, field string) {
	if g == nil {
		return
	}
	if g.Types == "" {
		v.add("%s.guestOrExternalUserTypes must name at least one type", field)
	}
	for t := range strings.SplitSeq(g.Types, ",") {
		if g.Types != "" && !slices.Contains(guestTypes, strings.TrimSpace(t)) {
			v.add("%s.guestOrExternalUserTypes: %q is not a guest or external user type", field, clip(t))
		}
	}
	if g.ExternalTenants != nil && g.ExternalTenants.MembershipKind != "all" {
		v.add("%s.externalTenants: only membershipKind \"all\" is supported", field)
	}
}

func (a Applications) validate(v *problems) {
	apps, actions := len(a.IncludeApplications) > 0, len(a.IncludeUserActions) > 0
	if apps == actions {
		v.add("conditions.applications must include applications or user actions, not both and not neither")
	}
	v.ids("conditions.applications.includeApplications", a.IncludeApplications, All, None)
	v.alone("conditions.applications.includeApplications", a.IncludeApplications, All, None)
	v.ids("conditions.applications.excludeApplications", a.ExcludeApplications)
	v.values("conditions.applications.includeUserActions", a.IncludeUserActions,
		[]string{ActionRegisterSecurityInfo, ActionRegisterDevice})
	v.unsupported("conditions.applications.includeAuthenticationContextClassReferences", a.AuthContexts)
	v.unsupported("conditions.applications.applicationFilter", a.ApplicationFilter)
}

func (l Locations) validate(v *problems) {
	if len(l.IncludeLocations) == 0 {
		v.add("conditions.locations.includeLocations must not be empty when locations are set")
	}
	v.ids("conditions.locations.includeLocations", l.IncludeLocations, All, AllTrusted)
	v.alone("conditions.locations.includeLocations", l.IncludeLocations, All)
	v.ids("conditions.locations.excludeLocations", l.ExcludeLocations, AllTrusted)
}

// platformValues are conditionalAccessDevicePlatform's members.
var platformValues = []string{"android", "iOS", "windows", "windowsPhone", "macOS", "linux", "all"}

func (p Platforms) validate(v *problems) {
	if len(p.IncludePlatforms) == 0 {
		v.add("conditions.platforms.includePlatforms must not be empty when platforms are set")
	}
	v.values("conditions.platforms.includePlatforms", p.IncludePlatforms, platformValues)
	v.values("conditions.platforms.excludePlatforms", p.ExcludePlatforms, platformValues)
}

func (g GrantControls) validate(v *problems) {
	if g.Operator != OperatorAND && g.Operator != OperatorOR {
		v.add("grantControls.operator must be AND or OR")
	}
	v.values("grantControls.builtInControls", g.BuiltInControls, []string{ControlBlock, ControlMFA,
		ControlCompliantDevice, ControlDomainJoinedDevice, ControlApprovedApplication,
		ControlCompliantApplication, ControlPasswordChange})
	n := len(g.BuiltInControls)
	if g.AuthenticationStrength != nil {
		n++
		if !isGUID(g.AuthenticationStrength.ID) {
			v.add("grantControls.authenticationStrength.id must be an authentication strength id")
		}
		if slices.Contains(g.BuiltInControls, ControlMFA) {
			v.add("grantControls: mfa and authenticationStrength cannot be required together")
		}
	}
	if n == 0 {
		v.add("grantControls must name at least one control")
	}
	if slices.Contains(g.BuiltInControls, ControlBlock) && n > 1 {
		v.add("grantControls: block cannot be combined with other controls")
	}
	if len(g.CustomAuthenticationFactors) > 0 || len(g.TermsOfUse) > 0 {
		v.add("grantControls: customAuthenticationFactors and termsOfUse are not supported by Latch")
	}
}

func (s SessionControls) validate(v *problems) {
	if f := s.SignInFrequency; f != nil {
		f.validate(v)
	}
	v.unsupported("sessionControls.applicationEnforcedRestrictions", s.AppRestrictions)
	v.unsupported("sessionControls.cloudAppSecurity", s.CloudAppSecurity)
	v.unsupported("sessionControls.persistentBrowser", s.PersistentBrowser)
	v.unsupported("sessionControls.continuousAccessEvaluation", s.ContinuousAccess)
	v.unsupported("sessionControls.disableResilienceDefaults", s.DisableResilience)
	v.unsupported("sessionControls.secureSignInSession", s.SecureSignIn)
}

func (f SignInFrequency) validate(v *problems) {
	const field = "sessionControls.signInFrequency"
	if f.AuthenticationType != "" && f.AuthenticationType != AuthPrimaryAndSecondary {
		v.add("%s.authenticationType: only %s is supported", field, AuthPrimaryAndSecondary)
	}
	switch f.FrequencyInterval {
	case FrequencyEveryTime:
		if f.Value != nil || f.Type != nil {
			v.add("%s: value and type must be null when frequencyInterval is everyTime", field)
		}
	case "", FrequencyTimeBased:
		f.validateTimeBased(v, field)
	default:
		v.add("%s.frequencyInterval must be timeBased or everyTime", field)
	}
}

// validateTimeBased applies the portal's bounds: 1 to 23 hours or 1 to 365 days.
func (f SignInFrequency) validateTimeBased(v *problems, field string) {
	if !f.IsEnabled {
		return
	}
	if f.Value == nil || f.Type == nil {
		v.add("%s: value and type are required", field)
		return
	}
	switch {
	case *f.Type == FrequencyHours && *f.Value >= 1 && *f.Value <= 23:
	case *f.Type == FrequencyDays && *f.Value >= 1 && *f.Value <= 365:
	default:
		v.add("%s: value must be 1 to 23 hours or 1 to 365 days", field)
	}
}

// values checks that every entry of list is one of allowed.
func (v *problems) values(field string, list, allowed []string) {
	for _, s := range list {
		if !slices.Contains(allowed, s) {
			v.add("%s: %q is not one of %s", field, clip(s), strings.Join(allowed, ", "))
		}
	}
}

// ids checks that every entry of list is an object id (a GUID) or one of keywords.
func (v *problems) ids(field string, list []string, keywords ...string) {
	for _, s := range list {
		if !isGUID(s) && !slices.Contains(keywords, s) {
			v.add("%s: %q is neither an object id nor one of %v", field, clip(s), keywords)
		}
	}
	if dup := firstDuplicate(list); dup != "" {
		v.add("%s: %q is listed twice", field, clip(dup))
	}
}

// alone checks that each of keywords, when present, is the list's only entry.
func (v *problems) alone(field string, list []string, keywords ...string) {
	for _, k := range keywords {
		if len(list) > 1 && slices.Contains(list, k) {
			v.add("%s: %s must be the only entry", field, k)
		}
	}
}

func firstDuplicate(list []string) string {
	for i, s := range list {
		if slices.Contains(list[:i], s) {
			return s
		}
	}
	return ""
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}

// clip shortens a value echoed in an error so a hostile input cannot flood the message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
