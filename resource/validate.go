package resource

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchsh/latch/errs"
)

// Limits ARM documents for names and tags.
const (
	maxResourceGroupName = 90
	maxVMName            = 64
	maxExtensionName     = 64
	maxManagementGroupID = 90
	maxTags              = 50
	maxTagName           = 512
	maxTagValue          = 256
	maxLocation          = 64
)

// ValidateResourceGroupName applies ARM's rule: 1 to 90 letters, digits, '.', '_', '-', '(' or
// ')', not ending in '.'. It fails with errs.Invalid and code "InvalidResourceGroup".
func ValidateResourceGroupName(name string) error {
	const op = "resource.ValidateResourceGroupName"
	bad := func(msg string) error { return errs.E(op, errs.Invalid, errs.Code("InvalidResourceGroup"), msg) }
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name) || n == 0:
		return bad("The resource group name is missing. It must be 1 to 90 characters long.")
	case n > maxResourceGroupName:
		return bad(fmt.Sprintf("The provided resource group name '%s' is too long. It must be at most 90 characters long.", truncate(name, 100)))
	}
	if bad2 := invalidChars(name, func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-()", r)
	}); bad2 != "" {
		return bad(fmt.Sprintf("The provided resource group name '%s' has these invalid characters: '%s'. "+
			"The name can only be a letter, digit, '-', '.', '(', ')' or '_'.", truncate(name, 100), bad2))
	}
	if strings.HasSuffix(name, ".") {
		return bad(fmt.Sprintf("The provided resource group name '%s' ends with a period. The name cannot end with a period.", name))
	}
	return nil
}

// invalidChars returns the distinct runes of s that ok refuses, in order of appearance.
func invalidChars(s string, ok func(rune) bool) string {
	var out []rune
	for _, r := range s {
		if !ok(r) && !strings.ContainsRune(string(out), r) {
			out = append(out, r)
		}
	}
	return string(out)
}

// ValidateVMName applies Azure's rule for virtual machine resource names: 1 to 64 ASCII
// letters, digits, '_', '.' and '-', starting with a letter or digit and ending with a letter,
// digit or '_'. It fails with errs.Invalid and code "InvalidResourceName".
func ValidateVMName(name string) error {
	return validateName("resource.ValidateVMName", name, maxVMName, "virtual machine")
}

// ValidateExtensionName applies the same rule to extension names.
func ValidateExtensionName(name string) error {
	return validateName("resource.ValidateExtensionName", name, maxExtensionName, "extension")
}

func validateName(op, name string, max int, what string) error {
	ok := len(name) > 0 && len(name) <= max && alnum(name[0]) && (alnum(name[len(name)-1]) || name[len(name)-1] == '_')
	for i := 0; ok && i < len(name); i++ {
		ok = alnum(name[i]) || strings.IndexByte("_.-", name[i]) >= 0
	}
	if ok {
		return nil
	}
	return errs.E(op, errs.Invalid, errs.Code("InvalidResourceName"), fmt.Sprintf(
		"The %s name '%s' is invalid. It must be 1 to %d characters of letters, digits, '_', '.' and '-', "+
			"start with a letter or digit, and end with a letter, digit or '_'.", what, truncate(name, 100), max))
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

// ValidateManagementGroupName applies ARM's rule for management group ids: 1 to 90 letters,
// digits, '-', '_', '(', ')' and '.', not ending in '.'. Code "InvalidManagementGroupName".
func ValidateManagementGroupName(name string) error {
	ok := len(name) > 0 && len(name) <= maxManagementGroupID && !strings.HasSuffix(name, ".")
	for i := 0; ok && i < len(name); i++ {
		ok = alnum(name[i]) || strings.IndexByte("-_().", name[i]) >= 0
	}
	if ok {
		return nil
	}
	return errs.E("resource.ValidateManagementGroupName", errs.Invalid, errs.Code("InvalidManagementGroupName"), fmt.Sprintf(
		"The management group name '%s' is invalid. It must be 1 to 90 letters, digits, '-', '_', '(', ')' and '.', and cannot end with a period.",
		truncate(name, 100)))
}

// NormalizeLocation returns ARM's form of a location: lower case without spaces ("West US"
// becomes "westus"). It fails with errs.Invalid: code "LocationRequired" when empty, and
// "InvalidLocation" when it has anything but letters, digits and spaces or is too long.
func NormalizeLocation(loc string) (string, error) {
	const op = "resource.NormalizeLocation"
	if strings.TrimSpace(loc) == "" {
		return "", errs.E(op, errs.Invalid, errs.Code("LocationRequired"), "The location property is required for this definition.")
	}
	norm := strings.ToLower(strings.ReplaceAll(loc, " ", ""))
	ok := len(norm) <= maxLocation
	for i := 0; ok && i < len(norm); i++ {
		ok = alnum(norm[i])
	}
	if !ok {
		return "", errs.E(op, errs.Invalid, errs.Code("InvalidLocation"), fmt.Sprintf(
			"The provided location '%s' is not valid. A location is letters and digits, like 'westus'.", truncate(loc, 100)))
	}
	return norm, nil
}

// ValidateTags applies ARM's limits: at most 50 tags, names 1 to 512 characters without
// '<', '>', '%', '&', '\', '?', '/' or control characters, values at most 256 characters.
// It fails with errs.Invalid and codes "InvalidTagNameCharacters", "TagNameTooLong",
// "TagValueTooLong" or "TooManyTags", naming the offending tags in a stable order.
func ValidateTags(tags map[string]string) error {
	const op = "resource.ValidateTags"
	if len(tags) > maxTags {
		return errs.E(op, errs.Invalid, errs.Code("TooManyTags"), fmt.Sprintf("At most %d tags are allowed; %d were given.", maxTags, len(tags)))
	}
	names := make([]string, 0, len(tags))
	for k := range tags {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := checkTag(op, k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

func checkTag(op, name, value string) error {
	switch {
	case name == "" || strings.ContainsAny(name, `<>%&\?/`) || invalidChars(name, unicode.IsPrint) != "":
		return errs.E(op, errs.Invalid, errs.Code("InvalidTagNameCharacters"), fmt.Sprintf(
			"The tag name '%s' is empty or has reserved characters '<,>,%%,&,\\,?,/' or control characters.", truncate(name, 100)))
	case utf8.RuneCountInString(name) > maxTagName:
		return errs.E(op, errs.Invalid, errs.Code("TagNameTooLong"), fmt.Sprintf(
			"The tag name '%s' exceeds the maximum length of %d characters.", truncate(name, 100), maxTagName))
	case utf8.RuneCountInString(value) > maxTagValue:
		return errs.E(op, errs.Invalid, errs.Code("TagValueTooLong"), fmt.Sprintf(
			"The value of tag '%s' exceeds the maximum length of %d characters.", truncate(name, 100), maxTagValue))
	}
	return nil
}
