package openssh

import (
	"encoding/base64"
	"strings"
	"testing"
)

func certArgBytes(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestLocalName(t *testing.T) {
	cases := []struct{ name, upn, want string }{
		{"fail/empty", "", ""},
		{"fail/no-at", "alice", ""},
		{"fail/two-ats", "a@b@c", ""},
		{"fail/empty-local-part", "@contoso.test", ""},
		{"fail/empty-domain", "alice@", ""},
		{"fail/leading-dash", "-oProxyCommand@x", ""},
		{"fail/leading-dot", ".a@b", ""},
		{"fail/space", "al ice@b", ""},
		{"fail/colon", "a:b@c", ""},
		{"fail/slash", "a/b@c", ""},
		{"fail/quote", "a'b@c", ""},
		{"fail/newline", "a\n@c", ""},
		{"fail/non-ascii", "zo\u00eb@c", ""},
		{"fail/too-long", strings.Repeat("a", 125) + "@b.c", ""},
		// '#' starts a comment in sshd_config and marks guests, which are not supported.
		{"fail/guest-ext", "bob_fabrikam.com#EXT#@contoso.test", ""},
		{"ok/lower-cased", "Alice@Contoso.TEST", "alice@contoso.test"},
		{"ok/dots-dashes-underscores", "A.B-C_D@sub.contoso-x.test", "a.b-c_d@sub.contoso-x.test"},
		{"ok/longest", strings.Repeat("a", 124) + "@b.c", strings.Repeat("a", 124) + "@b.c"},
	}
	for _, tc := range cases {
		if got := LocalName(tc.upn); got != tc.want {
			t.Errorf("%s: LocalName(%q) = %q, want %q", tc.name, tc.upn, got, tc.want)
		}
	}
}

func TestUID(t *testing.T) {
	oid := "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
	u := UID(oid)
	if !IsDirectoryUID(u) || u != UID(strings.ToLower(oid)) || u != UIDCandidate(oid, 0) {
		t.Fatalf("UID %d: not in range or not the same for the same object id", u)
	}
	if u != 2_000_148_496 {
		// Computed independently (SHA-256 of the lower-cased id, first 8 bytes big-endian,
		// mod 10^8). A change here changes every directory user's UID on every machine.
		t.Fatalf("UID(%s) = %d; the derivation changed", oid, u)
	}
	seen := map[int]bool{u: true}
	for i := 1; i < 50; i++ {
		c := UIDCandidate(oid, i)
		if !IsDirectoryUID(c) || seen[c] {
			t.Fatalf("candidate %d = %d: out of range or repeated", i, c)
		}
		seen[c] = true
	}
	for _, uid := range []int{0, 1000, 65534, 65535, UIDBase - 1, UIDBase + UIDRange, 1 << 31} {
		if IsDirectoryUID(uid) {
			t.Errorf("IsDirectoryUID(%d)", uid)
		}
	}
}
