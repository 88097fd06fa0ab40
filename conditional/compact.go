package conditional

// Compact is a Result that keeps, of the per-policy results, only those that differ from the
// policy's result when it does not apply (notApplied, reportOnlyNotApplied or notEnabled, by
// its state). With 1,000 policies a sign-in typically meets a few dozen; the rest are implied,
// so a decision kept past its evaluation (for the sign-in log, a refusal, a step-up page)
// costs a few hundred bytes instead of one entry per policy.
//
// The embedded Result's Policies holds the kept results, in the evaluation's order; every
// other field is the evaluation's. Expand gives back the whole Result.
type Compact struct {
	Result
}

// Compact copies what r decided into a Compact that shares no storage with r.Policies, so
// r can be reused (EvaluateInto, a pool) at once.
func (r *Result) Compact() Compact {
	n := 0
	for _, pr := range r.Policies {
		if r.differs(pr) {
			n++
		}
	}
	c := Compact{Result: *r}
	c.Policies = nil
	if n > 0 {
		c.Policies = make([]PolicyResult, 0, n)
		for _, pr := range r.Policies {
			if r.differs(pr) {
				c.Policies = append(c.Policies, pr)
			}
		}
	}
	return c
}

// differs reports whether pr says more than its policy's not-applied default.
func (r *Result) differs(pr PolicyResult) bool {
	return pr.Index == LegacyMFAIndex || pr != r.notApplied(pr.Index)
}

func (r *Result) notApplied(i int32) PolicyResult {
	return PolicyResult{Index: i, Result: notAppliedResult(r.policies[i].State)}
}

// Expand returns the Result c was made from, in fresh storage: one result per policy
// evaluated, in their order, then per-user MFA's when it was evaluated.
func (c Compact) Expand() Result {
	r := c.Result
	r.Policies = make([]PolicyResult, len(r.policies), len(r.policies)+1)
	for i := range r.policies {
		r.Policies[i] = r.notApplied(int32(i))
	}
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
	e.EvaluateInto(r, s, dir)
	c := r.Compact()
	e.putResult(r)
	return c
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
