package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchsh/latch/agent"
)

func TestPrincipalsFastPath(t *testing.T) {
	tests := []struct {
		name   string
		argv   []string
		ok     bool
		socket string
	}{
		{name: "fail/other-command", argv: []string{"agent", "run", "u", "t", "k"}},
		{name: "fail/help-goes-to-cobra", argv: []string{"agent", "principals", "--help"}},
		{name: "fail/flag-after-tokens-goes-to-cobra", argv: []string{"agent", "principals", "u", "t", "k", "--socket", "/s"}},
		{name: "fail/two-tokens-goes-to-cobra", argv: []string{"agent", "principals", "u", "t"}},
		{name: "fail/four-tokens-goes-to-cobra", argv: []string{"agent", "principals", "u", "t", "k", "x"}},
		{name: "fail/socket-without-value", argv: []string{"agent", "principals", "--socket"}},
		{name: "ok/default-socket", argv: []string{"agent", "principals", "u", "t", "k"}, ok: true, socket: agent.DefaultSocketPath},
		{name: "ok/socket-equals", argv: []string{"agent", "principals", "--socket=/run/x.sock", "u", "t", "k"}, ok: true, socket: "/run/x.sock"},
		{name: "ok/socket-apart", argv: []string{"agent", "principals", "--socket", "/run/x.sock", "u", "t", "k"}, ok: true, socket: "/run/x.sock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			socket, args, ok := principalsFastPath(tc.argv)
			if ok != tc.ok || ok && (socket != tc.socket || !slices.Equal(args, []string{"u", "t", "k"})) {
				t.Fatalf("got %q %q %v", socket, args, ok)
			}
		})
	}
}

// FuzzPrincipalsFastPath: no panic, and a recognised command line is always sshd's three
// tokens, none of them a flag.
func FuzzPrincipalsFastPath(f *testing.F) {
	f.Add("agent principals --socket=/s u t k")
	f.Add("agent principals --socket /s u t k")
	f.Fuzz(func(t *testing.T, line string) {
		_, args, ok := principalsFastPath(strings.Fields(line))
		if ok && (len(args) != 3 || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-") })) {
			t.Fatalf("recognised %q", args)
		}
	})
}
