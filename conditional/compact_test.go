package conditional

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"
)

// A Compact expands back to exactly the Result it was made from, and EvaluateCompact's
// answer is Evaluate's, on many random policy sets and sign-ins.
func TestCompactExpandsToTheResult(t *testing.T) {
	g := newGen(17)
	for set := range 1_000 {
		ps := g.policies()
		e := Compile(ps, testLocations, testStrengths)
		for i := range 10 {
			s, dir := g.signIn()
			want := e.Evaluate(s, dir)
			scanned, evaluated := want.Compact(), e.EvaluateCompact(s, dir)
			if !reflect.DeepEqual(scanned.Policies, evaluated.Policies) { // the same results, in policy order
				t.Fatalf("set %d sign-in %d: EvaluateCompact kept %v, Compact %v", set, i, evaluated.Policies, scanned.Policies)
			}
			for name, c := range map[string]Compact{"Compact": scanned, "EvaluateCompact": evaluated} {
				if got := c.Expand(); !reflect.DeepEqual(got, want) {
					pj, _ := json.Marshal(ps)
					t.Fatalf("set %d sign-in %d, %s: expanded %+v, evaluated %+v\npolicies %s", set, i, name, got, want, pj)
				}
				if len(c.Policies) > len(want.Policies) {
					t.Fatalf("set %d sign-in %d, %s keeps %d results of %d", set, i, name, len(c.Policies), len(want.Policies))
				}
			}
		}
	}
}

// A Compact shares nothing with the Result it was made from: reusing that Result for another
// sign-in changes no earlier answer.
func TestCompactOutlivesItsResult(t *testing.T) {
	g := newGen(19)
	ps := g.policies()
	for len(ps) < 5 {
		ps = g.policies()
	}
	e := Compile(ps, testLocations, testStrengths)
	var r Result
	var kept []Compact
	var want []Result
	for range 200 {
		s, dir := g.signIn()
		e.EvaluateInto(&r, s, dir)
		kept = append(kept, r.Compact())
		want = append(want, e.Evaluate(s, dir))
	}
	for i, c := range kept {
		if got := c.Expand(); !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("sign-in %d changed after the Result was reused: %+v, want %+v", i, got, want[i])
		}
	}
}

// Concurrent EvaluateCompact calls share the Evaluator's pooled Results and still each get
// their own answer (run with -race).
func TestEvaluateCompactConcurrent(t *testing.T) {
	g := newGen(23)
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
	want := make([]Result, len(inputs))
	for i := range inputs {
		inputs[i].s, inputs[i].dir = g.signIn()
		want[i] = e.Evaluate(inputs[i].s, inputs[i].dir)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			kept := make([]Compact, len(inputs))
			for i, in := range inputs {
				kept[i] = e.EvaluateCompact(in.s, in.dir)
			}
			for i, c := range kept {
				if got := c.Expand(); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("sign-in %d: %+v concurrently, %+v alone", i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
