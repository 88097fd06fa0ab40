package agent

import (
	"strings"
	"testing"
)

func TestParseAccountLines(t *testing.T) {
	for _, c := range []struct {
		name, line string
		ok         bool
	}{
		{"fail/short-passwd", "alice:x:1:1:a:/home/a", false},
		{"fail/uid-not-number", "alice:x:one:1:a:/home/a:/bin/sh", false},
		{"fail/negative-uid", "alice:x:-1:1:a:/home/a:/bin/sh", false},
		{"fail/empty-name", ":x:1:1:a:/home/a:/bin/sh", false},
		{"ok/passwd", "alice@contoso.test:x:2000000001:2000000001:Alice:/home/alice@contoso.test:/bin/bash", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pw, ok := parsePasswdLine(c.line)
			if ok != c.ok || (ok && (pw.Name != "alice@contoso.test" || pw.UID != 2000000001)) {
				t.Fatalf("parsePasswdLine = %+v, %v", pw, ok)
			}
		})
	}
	if g, ok := parseGroupLine("latch-admins:x:998:a@b.test,c@d.test"); !ok || len(g.Members) != 2 || g.GID != 998 {
		t.Fatalf("parseGroupLine = %+v, %v", g, ok)
	}
	if g, ok := parseGroupLine("latch-admins:x:998:"); !ok || len(g.Members) != 0 {
		t.Fatalf("parseGroupLine of an empty group = %+v, %v", g, ok)
	}
	if !shadowLocked("a:!*:20000:0:99999:7::1:") || shadowLocked("a:*:20000:0:99999:7:::") || shadowLocked("a:!:20000:0:99999:7:::") {
		t.Fatal("shadowLocked misreads lock's result")
	}
}

// FuzzAccountLines: the parsers never panic, and what they accept has the fields they claim.
func FuzzAccountLines(f *testing.F) {
	f.Add("alice@contoso.test:x:2000000001:2000000001:Alice:/home/alice@contoso.test:/bin/bash")
	f.Add("latch-admins:x:998:a@b.test,c@d.test")
	f.Add("a:!*:20000:0:99999:7::1:")
	f.Add("::::::")
	f.Fuzz(func(t *testing.T, line string) {
		if pw, ok := parsePasswdLine(line); ok && (pw.Name == "" || pw.UID < 0 || strings.Contains(pw.Name, ":")) {
			t.Fatalf("passwd %q accepted as %+v", line, pw)
		}
		if g, ok := parseGroupLine(line); ok {
			for _, m := range g.Members {
				if m == "" || strings.ContainsAny(m, ",:") {
					t.Fatalf("group %q member %q", line, m)
				}
			}
		}
		shadowLocked(line)
	})
}
