package conditional

import (
	"slices"
	"testing"
)

// sameDecision compares what a caller acts on: the outcome, the strengths asked for, and the
// message, code and detail shown.
func sameDecision(a, b Result) bool {
	return a.Outcome == b.Outcome && slices.Equal(a.StepUpStrengths, b.StepUpStrengths) &&
		a.Reauthenticate == b.Reauthenticate && a.Message == b.Message && a.ErrorCode == b.ErrorCode &&
		a.Detail == b.Detail && a.Status == b.Status
}

const propertyCases = 20_000

// TestReportOnlyNeverBlocks: adding report-only policies, whatever they say, never changes
// the decision, and a set of only report-only policies always allows.
func TestReportOnlyNeverBlocks(t *testing.T) {
	g := newGen(11)
	for i := range propertyCases {
		ps := g.policies()
		s, dir := g.signIn()
		dir.PerUserMFA = ""
		base := Evaluate(ps, s, dir, testLocations, testStrengths)
		extra := slices.Clone(ps)
		for j := range g.r.IntN(4) + 1 {
			p := g.policy(100 + j)
			p.State = StateReportOnly
			extra = append(extra, p)
		}
		if got := Evaluate(extra, s, dir, testLocations, testStrengths); !sameDecision(got, base) {
			t.Fatalf("case %d: report-only policies changed %v into %v", i, base.Outcome, got.Outcome)
		}
		only := slices.Clone(extra)
		for j := range only {
			only[j].State = StateReportOnly
		}
		if got := Evaluate(only, s, dir, testLocations, testStrengths); got.Outcome != Allow || got.Status == StatusFailure {
			t.Fatalf("case %d: report-only policies alone gave %v", i, got.Outcome)
		}
	}
}

// TestPolicyOrderNeverMatters: shuffling the policies permutes their results and leaves the
// decision, including which policy the message names, unchanged.
func TestPolicyOrderNeverMatters(t *testing.T) {
	g := newGen(13)
	for i := range propertyCases {
		ps := g.policies()
		s, dir := g.signIn()
		base := Evaluate(ps, s, dir, testLocations, testStrengths)
		perm := g.r.Perm(len(ps))
		shuffled := make([]Policy, len(ps))
		for to, from := range perm {
			shuffled[to] = ps[from]
		}
		got := Evaluate(shuffled, s, dir, testLocations, testStrengths)
		if !sameDecision(got, base) {
			t.Fatalf("case %d: order changed the decision: %v %q / %v %q", i, base.Outcome, base.Detail, got.Outcome, got.Detail)
		}
		for to, from := range perm {
			if got.Policies[to].Result != base.Policies[from].Result {
				t.Fatalf("case %d: policy %s gave %v then %v", i, ps[from].ID, base.Policies[from].Result, got.Policies[to].Result)
			}
		}
	}
}

// TestDisabledNeverChangesOutcome: a disabled policy decides exactly as if it were absent,
// and is reported notEnabled.
func TestDisabledNeverChangesOutcome(t *testing.T) {
	g := newGen(17)
	for i := range propertyCases {
		ps := g.policies()
		s, dir := g.signIn()
		base := Evaluate(ps, s, dir, testLocations, testStrengths)
		off := g.policy(99)
		off.State = StateDisabled
		with := append(slices.Clone(ps), off)
		got := Evaluate(with, s, dir, testLocations, testStrengths)
		if !sameDecision(got, base) || got.Policies[len(ps)].Result != NotEnabled {
			t.Fatalf("case %d: a disabled policy changed %v into %v", i, base.Outcome, got.Outcome)
		}
	}
}

// TestCompiledEvaluatorIsReusable: one Evaluator gives the same answers as Evaluate across
// many sign-ins, so nothing leaks from one evaluation into the next.
func TestCompiledEvaluatorIsReusable(t *testing.T) {
	g := newGen(19)
	ps := make([]Policy, 40)
	for i := range ps {
		ps[i] = g.policy(i)
	}
	e := Compile(ps, testLocations, testStrengths)
	for i := range propertyCases {
		s, dir := g.signIn()
		if got, want := e.Evaluate(s, dir), Evaluate(ps, s, dir, testLocations, testStrengths); !sameDecision(got, want) ||
			!slices.Equal(kindsOf(got), kindsOf(want)) {
			t.Fatalf("case %d: compiled %v, fresh %v", i, got.Outcome, want.Outcome)
		}
	}
}
