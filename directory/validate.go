package directory

import (
	"regexp"
	"strings"

	"github.com/latchsh/latch/errs"
)

var (
	guidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	localRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._'\-]{0,63}$`)
	domainRE   = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$`)
	nicknameRE = regexp.MustCompile(`^[A-Za-z0-9._\-]{1,64}$`)
)

// IsGUID reports whether s is a GUID in the 8-4-4-4-12 form.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// ValidateUPN checks that upn is name@domain with domain one of the tenant's domains.
func ValidateUPN(upn, tenantDomain string) error {
	const op = "directory.ValidateUPN"
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || !localRE.MatchString(local) || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return errs.Errorf(op, errs.Invalid, "The user principal name %q is not valid: use name@%s.", upn, tenantDomain)
	}
	if !domainRE.MatchString(domain) {
		return errs.Errorf(op, errs.Invalid, "The domain of %q is not valid.", upn)
	}
	if !strings.EqualFold(domain, tenantDomain) {
		return errs.Errorf(op, errs.Invalid, "The domain portion of the userPrincipalName property is invalid. You must use %s.", tenantDomain)
	}
	return nil
}

// ValidateDomain checks a tenant's domain name.
func ValidateDomain(d string) error {
	if !domainRE.MatchString(d) {
		return errs.Errorf("directory.ValidateDomain", errs.Invalid, "%q is not a valid domain name.", d)
	}
	return nil
}

// Validate checks the user's fields as Graph does on create and update.
func (u User) Validate(tenantDomain string) error {
	if err := ValidateUPN(u.UserPrincipalName, tenantDomain); err != nil {
		return err
	}
	if strings.TrimSpace(u.DisplayName) == "" || len(u.DisplayName) > 256 {
		return errs.E("directory.User.Validate", errs.Invalid, "A display name of 1 to 256 characters is required.")
	}
	switch u.MFA {
	case MFADisabled, MFAEnabled, MFAEnforced:
	default:
		return errs.Errorf("directory.User.Validate", errs.Invalid, "Unknown per-user MFA state %q.", u.MFA)
	}
	return nil
}

// Validate checks the group's fields.
func (g Group) Validate() error {
	const op = "directory.Group.Validate"
	if strings.TrimSpace(g.DisplayName) == "" || len(g.DisplayName) > 256 {
		return errs.E(op, errs.Invalid, "A display name of 1 to 256 characters is required.")
	}
	if !nicknameRE.MatchString(g.MailNickname) {
		return errs.Errorf(op, errs.Invalid, "The mail nickname %q is not valid.", g.MailNickname)
	}
	for _, m := range g.Members {
		if !IsGUID(m) {
			return errs.Errorf(op, errs.Invalid, "Member %q is not an object id.", m)
		}
		if m == g.ID {
			return errs.E(op, errs.Invalid, "A group cannot be a member of itself.")
		}
	}
	return nil
}

// NormalizeUPN is the form UPNs are compared and indexed in.
func NormalizeUPN(upn string) string { return strings.ToLower(strings.TrimSpace(upn)) }
