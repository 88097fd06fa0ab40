package directory

import "strings"

// maxLocalName caps account names. Linux allows 256 bytes (LOGIN_NAME_MAX); utmp keeps 32,
// which only shortens what `who` shows. Entra caps UPNs at 113 characters.
const maxLocalName = 128

// LocalName is the local account name of a directory user: the whole UPN in lower case,
// "alice@contoso.test". It returns "" when the UPN cannot be a safe account name, and the
// caller must then refuse the login or certificate.
//
// Why the whole UPN rather than "alice": it is what Entra's Linux login does, so people and
// scripts that know Azure meet the same names; it cannot collide across domains
// (alice@contoso and alice@fabrikam) nor with a local account such as "admin", because local
// accounts have no '@'; and that '@' is exactly what the drop-in's "Match User *@*" keys on,
// so only directory users take the certificate path. useradd, ssh -l and Match all take such
// names; AllowUsers does not (it reads user@host), which is why the drop-in never uses it.
// Lower case because UPNs are case-insensitive while Unix names are not: one person, one
// account.
//
// Accepted: one '@' with a non-empty part on each side, only a-z 0-9 '.' '_' '-' besides it,
// not starting with '-' or '.', at most 128 bytes. Everything else that Entra allows in a UPN
// (quotes, '!', '#', non-ASCII …) is refused rather than rewritten, so two UPNs can never map
// to one account.
func LocalName(upn string) string {
	name := strings.ToLower(upn)
	if len(name) == 0 || len(name) > maxLocalName || name[0] == '-' || name[0] == '.' {
		return ""
	}
	local, domain, ok := strings.Cut(name, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return ""
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isNameByte(c) && c != '@' {
			return ""
		}
	}
	return name
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}
