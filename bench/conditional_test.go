package bench

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/signinlog"
)

// A tenant with 1,000 Conditional Access policies: most target one of 200 groups and one of
// 50 applications, some every user or every application, a tenth in report-only and a
// tenth disabled, with risk, client-app, location, strength and sign-in-frequency
// conditions mixed in. The person signing in belongs to 12 groups.

func caGUID(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i) }

func benchPolicies(r *rand.Rand) []conditional.Policy {
	ps := make([]conditional.Policy, 1000)
	for i := range ps {
		p := conditional.Policy{ID: caGUID(1, i), DisplayName: fmt.Sprintf("policy %d", i), State: conditional.StateEnabled}
		switch i % 10 {
		case 0:
			p.State = conditional.StateReportOnly
		case 1:
			p.State = conditional.StateDisabled
		}
		u := &p.Conditions.Users
		if r.IntN(20) == 0 {
			u.IncludeUsers = conditional.Strings{conditional.All}
			u.ExcludeGroups = conditional.Strings{caGUID(2, r.IntN(200))}
		} else {
			u.IncludeGroups = conditional.Strings{caGUID(2, r.IntN(200)), caGUID(2, r.IntN(200))}
		}
		a := &p.Conditions.Applications
		if r.IntN(10) == 0 {
			a.IncludeApplications = conditional.Strings{conditional.All}
		} else {
			a.IncludeApplications = conditional.Strings{caGUID(3, r.IntN(50)), directory.LinuxVMSignInAppID}
		}
		benchConditions(r, &p)
		ps[i] = p
	}
	return ps
}

func benchConditions(r *rand.Rand, p *conditional.Policy) {
	if r.IntN(4) == 0 {
		p.Conditions.SignInRiskLevels = conditional.Strings{conditional.RiskMedium, conditional.RiskHigh}
	}
	if r.IntN(3) == 0 {
		p.Conditions.Locations = &conditional.Locations{IncludeLocations: conditional.Strings{conditional.All},
			ExcludeLocations: conditional.Strings{conditional.AllTrusted}}
	}
	p.GrantControls = &conditional.GrantControls{Operator: conditional.OperatorOR}
	switch r.IntN(4) {
	case 0:
		p.GrantControls.BuiltInControls = conditional.Strings{conditional.ControlMFA}
	case 1:
		p.GrantControls.AuthenticationStrength = &conditional.StrengthRef{ID: conditional.PhishingResistID}
	case 2:
		p.GrantControls.BuiltInControls = conditional.Strings{conditional.ControlMFA, conditional.ControlCompliantDevice}
	default:
		p.GrantControls.AuthenticationStrength = &conditional.StrengthRef{ID: conditional.MultifactorID}
		v, unit := 8, conditional.FrequencyHours
		p.SessionControls = &conditional.SessionControls{SignInFrequency: &conditional.SignInFrequency{
			Value: &v, Type: &unit, FrequencyInterval: conditional.FrequencyTimeBased, IsEnabled: true}}
	}
}

func benchSignIn(r *rand.Rand, now time.Time) conditional.SignIn {
	groups := make([]string, 12)
	for i := range groups {
		groups[i] = caGUID(2, r.IntN(200))
	}
	return conditional.SignIn{UserID: caGUID(4, r.IntN(1000)), Groups: groups, AppID: directory.LinuxVMSignInAppID,
		ClientAppType: conditional.ClientMobileAndDesktop, Platform: "linux",
		Address: netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(256))}), Country: "NL",
		SignInRisk: []string{"", conditional.RiskLow, conditional.RiskMedium}[r.IntN(3)],
		Methods:    []string{"fido2"}, AuthTime: now.Add(-time.Hour), Now: now}
}

var benchLocations = []conditional.NamedLocation{{ID: caGUID(5, 1), DisplayName: "Office", IsTrusted: true,
	IPRanges: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}}}

// BenchmarkConditionalEvaluate measures one sign-in decided against 1,000 compiled policies,
// reporting the median and 99th-percentile time per evaluation (the goal is p99 < 50 µs).
// Each evaluation returns a fresh Result, as the token endpoint's does.
func BenchmarkConditionalEvaluate(b *testing.B) {
	benchEvaluate(b, func(e *conditional.Evaluator, s conditional.SignIn, f conditional.DirectoryFacts) conditional.Result {
		return e.Evaluate(s, f)
	})
}

// BenchmarkConditionalEvaluateInto is the same with one Result reused, as a caller that is
// done with each answer before the next can: no allocation at all per sign-in.
func BenchmarkConditionalEvaluateInto(b *testing.B) {
	var r conditional.Result
	benchEvaluate(b, func(e *conditional.Evaluator, s conditional.SignIn, f conditional.DirectoryFacts) conditional.Result {
		e.EvaluateInto(&r, s, f)
		return r
	})
}

// BenchmarkConditionalIssuance measures the evaluation as the token endpoint makes it
// (httpapi evaluateSignIn): EvaluateCompact, which evaluates into one of the Evaluator's
// pooled Results and keeps a compact copy — only the policy results that differ from their
// not-applied default — that the refusal, the step-up page and the sign-in log read after the
// pooled Result has gone back. The log entry's every-policy list is built from the copy by the
// log's writer, off the request path (BenchmarkConditionalLogEntry).
func BenchmarkConditionalIssuance(b *testing.B) {
	kept := 0
	benchEvaluate(b, func(e *conditional.Evaluator, s conditional.SignIn, f conditional.DirectoryFacts) conditional.Result {
		c := e.EvaluateCompact(s, f)
		kept += len(c.Policies)
		return c.Result
	})
	b.ReportMetric(float64(kept)/float64(b.N), "kept-results/op")
}

// BenchmarkConditionalIssuanceEntryInRequest is the request path as it was before
// EvaluateCompact, kept for comparison: a fresh Result per sign-in, and the log entry (every
// policy's result) built in the request from it.
func BenchmarkConditionalIssuanceEntryInRequest(b *testing.B) {
	benchEvaluate(b, func(e *conditional.Evaluator, s conditional.SignIn, f conditional.DirectoryFacts) conditional.Result {
		res := e.Evaluate(s, f)
		signinlog.New(signinlog.Input{UserID: s.UserID, Methods: s.Methods}, res)
		return res
	})
}

// BenchmarkConditionalIssuanceParallel is BenchmarkConditionalIssuance from as many
// goroutines as GOMAXPROCS, as concurrent token requests evaluate: they share the
// Evaluator's pools of Results and working memory.
func BenchmarkConditionalIssuanceParallel(b *testing.B) {
	e, signIns, facts := benchFixture()
	var mu sync.Mutex
	var all []time.Duration
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		times := make([]time.Duration, 0, 1<<15)
		for i := 0; pb.Next(); i++ {
			start := time.Now()
			c := e.EvaluateCompact(signIns[i%len(signIns)], facts)
			if len(times) < cap(times) {
				times = append(times, time.Since(start))
			}
			_ = c
		}
		mu.Lock()
		all = append(all, times...)
		mu.Unlock()
	})
	reportLatency(b, all)
}

// BenchmarkConditionalIssuanceCPU is BenchmarkConditionalIssuance timed by the thread's CPU
// clock instead of the wall clock, with the goroutine locked to its thread: time the thread
// spent preempted by other processes is left out, its own work (garbage collection assists
// included) is not. On a machine shared with other load this separates the code's tail from
// the scheduler's. Each reading is a system call, which adds to both percentiles.
func BenchmarkConditionalIssuanceCPU(b *testing.B) {
	benchCPU(b, func(e *conditional.Evaluator, s conditional.SignIn, f conditional.DirectoryFacts) {
		e.EvaluateCompact(s, f)
	})
}

// BenchmarkConditionalEvaluateCPU is the same for Evaluate's fresh Result per sign-in.
func BenchmarkConditionalEvaluateCPU(b *testing.B) {
	benchCPU(b, func(e *conditional.Evaluator, s conditional.SignIn, f conditional.DirectoryFacts) {
		e.Evaluate(s, f)
	})
}

func benchCPU(b *testing.B, eval func(*conditional.Evaluator, conditional.SignIn, conditional.DirectoryFacts)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	e, signIns, facts := benchFixture()
	times := make([]time.Duration, 0, 1<<16)
	var t0, t1 unix.Timespec
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t0); err != nil {
			b.Fatal(err)
		}
		eval(e, signIns[i%len(signIns)], facts)
		unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t1)
		if len(times) < cap(times) {
			times = append(times, time.Duration(t1.Nano()-t0.Nano()))
		}
		i++
	}
	reportLatency(b, times)
}

// BenchmarkConditionalLogEntry measures what the sign-in log's writer does with a kept
// decision: expand it to every policy's result and build the entry, which lists all 1,000.
func BenchmarkConditionalLogEntry(b *testing.B) {
	e, signIns, facts := benchFixture()
	kept := make([]conditional.Compact, len(signIns))
	for i, s := range signIns {
		kept[i] = e.EvaluateCompact(s, facts)
	}
	times := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		start := time.Now()
		entry := signinlog.New(signinlog.Input{UserID: signIns[i%len(signIns)].UserID, Methods: []string{"fido2"}},
			kept[i%len(kept)].Expand())
		if len(times) < cap(times) {
			times = append(times, time.Since(start))
		}
		if len(entry.AppliedPolicies) != 1000 {
			b.Fatalf("%d applied policies, want 1000", len(entry.AppliedPolicies))
		}
		i++
	}
	reportLatency(b, times)
}

// benchFixture is the compiled 1,000 policies, 256 sign-ins and the person's registered
// methods every Conditional Access benchmark uses.
func benchFixture() (*conditional.Evaluator, []conditional.SignIn, conditional.DirectoryFacts) {
	r := rand.New(rand.NewPCG(1, 2))
	e := conditional.Compile(benchPolicies(r), benchLocations, nil)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	signIns := make([]conditional.SignIn, 256)
	for i := range signIns {
		signIns[i] = benchSignIn(r, now)
	}
	return e, signIns, conditional.DirectoryFacts{RegisteredMethods: []string{"password", "softwareOath", "fido2"}}
}

func benchEvaluate(b *testing.B, eval func(*conditional.Evaluator, conditional.SignIn, conditional.DirectoryFacts) conditional.Result) {
	e, signIns, facts := benchFixture()
	times := make([]time.Duration, 0, 1<<16)
	applied := 0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		start := time.Now()
		res := eval(e, signIns[i%len(signIns)], facts)
		if len(times) < cap(times) {
			times = append(times, time.Since(start))
		}
		if res.Status != conditional.StatusNotApplied {
			applied++
		}
		i++
	}
	if applied == 0 {
		b.Fatal("no policy applied to any sign-in: the fixture measures nothing")
	}
	reportLatency(b, times)
}

// BenchmarkConditionalCompile measures preparing the 1,000 policies, which a server does
// once per policy change, not per sign-in.
func BenchmarkConditionalCompile(b *testing.B) {
	ps := benchPolicies(rand.New(rand.NewPCG(1, 2)))
	b.ReportAllocs()
	for b.Loop() {
		conditional.Compile(ps, benchLocations, nil)
	}
}
