package conditional

import (
	"encoding/binary"
	"math/bits"
)

// Compact is a Result that keeps, of the per-policy results, only those that differ from the
// policy's result when it does not apply (notApplied, reportOnlyNotApplied or notEnabled, by
// its state). Of 1,000 policies the benchmark's sign-ins meet about 120; the rest are implied,
// so a decision kept past its evaluation (for the sign-in log, a refusal, a step-up page)
// costs about 1 KB instead of 8 KiB.
//
// The embedded Result's Policies holds the kept results in policy order, per-user MFA's
// last; every other field is the evaluation's. Expand gives back the whole Result.
type Compact struct {
	Result
}

// Compact copies what r decided into a Compact that shares no storage with r.Policies, so
// r can be reused (EvaluateInto, a pool) at once.
func (r *Result) Compact() Compact {
	// Two passes, counting then copying, so the copy is one allocation of the right size; the
	// scan compares each result with its template entry by position, which is its Index.
	n := len(r.Policies)
	tmpl := r.template[:min(n, len(r.template))]
	kept := n - len(tmpl) // per-user MFA's, after the policies
	for i, pr := range r.Policies[:len(tmpl)] {
		if pr != tmpl[i] {
			kept++
		}
	}
	c := Compact{Result: *r}
	c.Policies = nil
	if kept == 0 {
		return c
	}
	c.Policies = make([]PolicyResult, 0, kept)
	for i, pr := range r.Policies[:len(tmpl)] {
		if pr != tmpl[i] {
			c.Policies = append(c.Policies, pr)
		}
	}
	c.Policies = append(c.Policies, r.Policies[len(tmpl):]...)
	return c
}

// Expand returns the Result c was made from, in fresh storage: one result per policy
// evaluated, in their order, then per-user MFA's when it was evaluated.
func (c Compact) Expand() Result {
	r := c.Result
	r.Policies = make([]PolicyResult, len(r.template), len(r.template)+1)
	copy(r.Policies, r.template)
	for _, pr := range c.Policies {
		if pr.Index == LegacyMFAIndex {
			r.Policies = append(r.Policies, pr)
			continue
		}
		r.Policies[pr.Index] = pr
	}
	return r
}

// EvaluateCompact decides one sign-in as Evaluate does and keeps the answer compactly. The
// full Result is evaluated into one of the Evaluator's pooled Results (sized for its
// policies) and goes back to the pool before EvaluateCompact returns: nothing the caller gets
// shares storage with it, so a concurrent evaluation reusing it changes no earlier answer.
// This is the sign-in path's evaluation: it allocates only the kept results.
func (e *Evaluator) EvaluateCompact(s SignIn, dir DirectoryFacts) Compact {
	r := e.getResult()
	policies := r.Policies[:0]
	*r = Result{Policies: append(policies, e.template...), policies: e.ptrs, template: e.template}
	var kept []PolicyResult
	*r = e.evaluate(*r, s, dir, &kept)
	c := Compact{Result: *r}
	c.Policies = kept
	e.putResult(r)
	return c
}

// changed lists, in policy order, the results of r that differ from the template: only a
// candidate's can (the others keep the template's), and the scratch's marks still say which
// policies were candidates, so the scan reads one mark byte per policy, eight at a time,
// instead of comparing every result. Then per-user MFA's result, when it was evaluated.
func (e *Evaluator) changed(sc *scratch, r Result) []PolicyResult {
	idx := sc.candidates[:0]
	mark := sc.mark
	const lows = 0x0101010101010101
	for base := 0; base < len(mark); base += 8 {
		var w uint64
		if base+8 <= len(mark) {
			w = binary.LittleEndian.Uint64(mark[base:])
		} else {
			var b [8]byte
			copy(b[:], mark[base:])
			w = binary.LittleEndian.Uint64(b[:])
		}
		for both := w & (w >> 1) & lows; both != 0; both &= both - 1 {
			i := int32(base + bits.TrailingZeros64(both)/8)
			if r.Policies[i] != e.template[i] {
				idx = append(idx, i)
			}
		}
	}
	sc.candidates = idx
	legacy := r.Policies[len(e.template):]
	if len(idx)+len(legacy) == 0 {
		return nil
	}
	out := make([]PolicyResult, 0, len(idx)+len(legacy))
	for _, i := range idx {
		out = append(out, r.Policies[i])
	}
	return append(out, legacy...)
}

func (e *Evaluator) getResult() *Result {
	if r, ok := e.results.Get().(*Result); ok {
		return r
	}
	return &Result{Policies: make([]PolicyResult, 0, len(e.template)+1)}
}

// putResult returns r to the pool without what it still points at beyond its own storage
// (the strengths and the deciding policy), which the caller's Compact keeps.
func (e *Evaluator) putResult(r *Result) {
	*r = Result{Policies: r.Policies[:0]}
	e.results.Put(r)
}
