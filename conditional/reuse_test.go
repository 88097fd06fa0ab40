package conditional

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
)

// One Evaluator reuses its working memory across sign-ins (and EvaluateInto reuses the
// caller's Result): nothing one sign-in leaves behind — members, location answers, candidate
// marks — may change the next one's answer. Each compiled policy set decides many sign-ins in
// a row, each checked against the naive reference.
func TestEvaluatorReuseMatchesReference(t *testing.T) {
	g := newGen(11)
	var into Result
	for set := range 2_000 {
		ps := g.policies()
		e := Compile(ps, testLocations, testStrengths)
		for i := range 20 {
			s, dir := g.signIn()
			want := refEvaluate(ps, s, dir, testLocations, testStrengths)
			got := e.Evaluate(s, dir)
			e.EvaluateInto(&into, s, dir)
			for name, r := range map[string]Result{"Evaluate": got, "EvaluateInto": into} {
				if msg := compare(r, want); msg != "" {
					pj, _ := json.Marshal(ps)
					t.Fatalf("set %d sign-in %d, %s: %s\npolicies %s\nsign-in %+v", set, i, name, msg, pj, s)
				}
			}
		}
	}
}

// Concurrent evaluations of one Evaluator agree with sequential ones (run with -race).
func TestEvaluatorConcurrentUse(t *testing.T) {
	g := newGen(13)
	var ps []Policy
	for len(ps) < 5 {
		ps = g.policies()
	}
	e := Compile(ps, testLocations, testStrengths)
	type input struct {
		s   SignIn
		dir DirectoryFacts
	}
	inputs := make([]input, 200)
	want := make([][]ResultKind, len(inputs))
	for i := range inputs {
		inputs[i].s, inputs[i].dir = g.signIn()
		want[i] = kindsOf(e.Evaluate(inputs[i].s, inputs[i].dir))
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i, in := range inputs {
				if got := kindsOf(e.Evaluate(in.s, in.dir)); !slices.Equal(got, want[i]) {
					t.Errorf("sign-in %d: %v concurrently, %v alone", i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
