package token

import (
	"fmt"
	"strings"
)

// SSHKeyID is what the key id of a Latch SSH certificate says. sshd writes the key id into
// its log line for every accepted login and passes it to the principals command (%i), so it
// names the request's correlation id first: the one id that joins the token request, the
// machine's journal and the sign-in log.
type SSHKeyID struct {
	CorrelationID string
	TenantID      string
	ObjectID      string
	UPN           string
}

// String is the key id as written into a certificate: "corr=…,tid=…,oid=…,upn=…". It has no
// blanks, so a log line that quotes it stays one field.
func (k SSHKeyID) String() string {
	return "corr=" + k.CorrelationID + ",tid=" + k.TenantID + ",oid=" + k.ObjectID + ",upn=" + k.UPN
}

// sshKeyIDNames are the key id's members in the order String writes them.
var sshKeyIDNames = [4]string{"corr", "tid", "oid", "upn"}

// ParseSSHKeyID reads a key id written by SSHKeyID.String. It accepts exactly that form (the
// four members, in order, each non-empty and within the characters IssueSSHCert allows) and
// returns an error naming the defect otherwise. A parsed key id is only as trustworthy as the
// certificate it came from: check the certificate first.
func ParseSSHKeyID(s string) (SSHKeyID, error) {
	if len(s) > 4*maxSSHField+32 {
		return SSHKeyID{}, fmt.Errorf("key id too long")
	}
	parts := strings.Split(s, ",")
	if len(parts) != len(sshKeyIDNames) {
		return SSHKeyID{}, fmt.Errorf("key id is not a Latch key id")
	}
	var vals [4]string
	for i, p := range parts {
		name, v, ok := strings.Cut(p, "=")
		if !ok || name != sshKeyIDNames[i] {
			return SSHKeyID{}, fmt.Errorf("key id member %d is not %q", i+1, sshKeyIDNames[i])
		}
		if err := checkSSHField(name, v, true); err != nil {
			return SSHKeyID{}, fmt.Errorf("key id: %w", err)
		}
		vals[i] = v
	}
	return SSHKeyID{CorrelationID: vals[0], TenantID: vals[1], ObjectID: vals[2], UPN: vals[3]}, nil
}
