package signinlog

import (
	"testing"

	"github.com/latchsh/latch/conditional"
)

// Without methods no strength is met, a custom one included; the list is empty, not null.
func TestStrengthsMetWithoutMethods(t *testing.T) {
	custom := []conditional.Strength{{ID: "c1", AllowedCombinations: []string{"password"}}}
	cases := []struct {
		name    string
		methods []string
		want    int
	}{
		{"fail/no-methods", nil, 0},
		{"fail/empty-methods", []string{}, 0},
		{"ok/password-meets-the-custom-one", []string{"password"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strengthsMet(c.methods, custom)
			if got == nil || len(got) != c.want {
				t.Fatalf("got %#v, want %d strengths", got, c.want)
			}
		})
	}
}
