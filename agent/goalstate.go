package agent

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/latchsh/latch/machineapi"
)

// DefaultGoalStateWait is how long one long-poll of the goal state asks the control plane to
// hold the answer; it stays below machineapi.MaxWaitSeconds.
const DefaultGoalStateWait = 55 * time.Second

// Back-off between failed polls: doubled from the first to the last, with jitter so that
// many machines do not return to a restarted control plane in step.
const (
	backoffFirst = time.Second
	backoffMax   = 30 * time.Second
)

// Follower follows the control plane's goal state: it long-polls for the next version,
// applies the login extensions it names, and keeps what it did in the state directory. One
// goroutine runs it; Progress is its own.
type Follower struct {
	c        *Client // long-poll client: its timeout is above the wait
	dir      string
	login    LoginSetup
	imdsURL  string // the agent's own metadata service, http://127.0.0.1:port
	imdsHTTP *http.Client
	override machineapi.Endpoints
	wait     time.Duration
	log      *slog.Logger
	now      func() time.Time
	goos     string
	hostname func() (string, error)
	// sleep waits d or until ctx ends, reporting whether the wait was complete.
	sleep func(ctx context.Context, d time.Duration) bool

	prog Progress
}

// FollowerOptions say how a Follower works; Serve fills them from RunOptions.
type FollowerOptions struct {
	StateDir  string
	Login     LoginSetup // nil: the login extension fails with a clear message
	IMDSURL   string     // base URL of the agent's metadata service
	Endpoints machineapi.Endpoints
	Wait      time.Duration // 0: DefaultGoalStateWait
	Logger    *slog.Logger
}

// NewFollower returns a follower for the machine c speaks for, with the progress saved in the
// state directory. It fails when that progress cannot be read.
func NewFollower(c *Client, o FollowerOptions) (*Follower, error) {
	prog, err := loadProgress(o.StateDir)
	if err != nil {
		return nil, err
	}
	if o.Wait <= 0 {
		o.Wait = DefaultGoalStateWait
	}
	// The control plane refuses a longer wait; asking for it would turn every poll into an
	// error.
	o.Wait = min(o.Wait, machineapi.MaxWaitSeconds*time.Second)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	lp := *c
	hc := *c.http
	hc.Timeout = o.Wait + 30*time.Second
	lp.http = &hc
	return &Follower{c: &lp, dir: o.StateDir, login: o.Login, imdsURL: o.IMDSURL, override: o.Endpoints,
		imdsHTTP: &http.Client{Timeout: 30 * time.Second}, wait: o.Wait, log: o.Logger, now: c.now,
		goos: runtime.GOOS, hostname: os.Hostname, sleep: sleepCtx, prog: prog}, nil
}

// Run follows the goal state until ctx ends. Failures are retried with back-off; the log
// says once that the control plane cannot be reached and once that it can again.
func (f *Follower) Run(ctx context.Context) {
	backoff, down := backoffFirst, false
	for ctx.Err() == nil {
		err := f.Step(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if down {
				f.log.Info("goal state: the control plane answers again")
			}
			backoff, down = backoffFirst, false
			continue
		}
		if !down {
			f.log.Warn("goal state: cannot reach the control plane; retrying with back-off", "error", err)
			down = true
		}
		f.noteError("goalstate", err)
		if !f.sleep(ctx, jitter(backoff)) {
			return
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// jitter is d scaled by a random factor in [0.5, 1.5).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Step sends any status the control plane has not acknowledged, waits for the next goal
// state and applies it. It returns an error only when the control plane could not be asked;
// failures of an extension are reported to it instead.
func (f *Follower) Step(ctx context.Context) error {
	if err := f.flushPending(ctx); err != nil {
		return err
	}
	gs, changed, err := f.poll(ctx)
	if err != nil {
		return err
	}
	f.prog.LastContact = f.now()
	if !changed {
		f.confirm()
		f.save()
		return nil
	}
	f.apply(ctx, gs)
	return nil
}

// poll asks for the goal state after the version last applied; changed is false on 304.
func (f *Follower) poll(ctx context.Context) (gs machineapi.GoalState, changed bool, err error) {
	q := url.Values{"version": {f.prog.Version}, "wait": {strconv.Itoa(int(f.wait / time.Second))}}
	err = f.c.call(ctx, http.MethodGet, machineapi.PathGoalState+"?"+q.Encode(), nil, &gs)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusNotModified {
		return gs, false, nil
	}
	if err != nil {
		return gs, false, err
	}
	return gs, true, nil
}

// confirm tells the login setup the control plane was heard with nothing new.
func (f *Follower) confirm() {
	if f.login == nil || !f.loginActive() {
		return
	}
	if err := f.login.Confirm(f.now()); err != nil {
		f.noteError("login", err)
	}
}

// apply runs the extensions whose generation changed, undoes those being deleted, then keeps
// the login setup in step with the goal state, and records the version as applied. Progress
// is saved after each extension, so a crash in between repeats only unfinished work.
func (f *Follower) apply(ctx context.Context, gs machineapi.GoalState) {
	f.prog.ReceivedAt = f.now()
	ep := mergeEndpoints(gs.Endpoints, f.override)
	applied := false
	for _, ext := range gs.Extensions {
		if ctx.Err() != nil {
			return
		}
		rec := f.prog.Extensions[ext.Name]
		switch {
		case ext.State == machineapi.ExtensionDeleting:
			if rec == nil || rec.Deleted != ext.Generation {
				f.undo(ctx, gs, ext, ep)
			}
		case rec == nil || rec.Done != ext.Generation:
			st := f.runExtension(ctx, gs, ext, ep)
			applied = applied || st.ProvisioningState == machineapi.ProvisioningSucceeded
		}
	}
	if ctx.Err() != nil {
		return
	}
	f.forgetRemoved(ctx, gs)
	if !applied && gs.Login != nil && f.loginActive() && f.login != nil {
		if err := f.login.Apply(ctx, f.c.State(), gs.Login); err != nil {
			f.log.Warn("login configuration of the new goal state failed", "version", gs.Version, "error", err)
			f.noteError("login", err)
		}
	}
	if ctx.Err() != nil {
		return
	}
	f.prog.Version, f.prog.Goal = gs.Version, &gs
	f.save()
}

// forgetRemoved removes the login setup of extensions that left the goal state without
// passing through deleting, and forgets them.
func (f *Follower) forgetRemoved(ctx context.Context, gs machineapi.GoalState) {
	for name, rec := range f.prog.Extensions {
		if inGoalState(gs, name) {
			continue
		}
		if rec.Deleted == "" && rec.Status.ProvisioningState == machineapi.ProvisioningSucceeded &&
			f.login != nil && !otherLoginActive(gs, name, f.prog) {
			if err := f.login.Remove(ctx); err != nil {
				f.noteError("login", err)
				continue
			}
		}
		delete(f.prog.Extensions, name)
	}
}

func inGoalState(gs machineapi.GoalState, name string) bool {
	for _, e := range gs.Extensions {
		if e.Name == name {
			return true
		}
	}
	return false
}

// otherLoginActive reports whether an extension other than name is enabled in gs and has
// succeeded: then the machine stays joined and configured for it.
func otherLoginActive(gs machineapi.GoalState, name string, p Progress) bool {
	for _, e := range gs.Extensions {
		rec := p.Extensions[e.Name]
		if e.Name != name && e.State != machineapi.ExtensionDeleting && rec != nil &&
			rec.Deleted == "" && rec.Status.ProvisioningState == machineapi.ProvisioningSucceeded {
			return true
		}
	}
	return false
}

// loginActive reports whether a login extension succeeded and was not undone since.
func (f *Follower) loginActive() bool {
	for _, rec := range f.prog.Extensions {
		if rec.Deleted == "" && rec.Status.ProvisioningState == machineapi.ProvisioningSucceeded {
			return true
		}
	}
	return false
}

// record keeps an extension's final status as pending and saves it before it is sent, so a
// crash after the work but before the control plane heard of it re-sends, never re-runs.
func (f *Follower) record(ext machineapi.Extension, st machineapi.ExtensionStatus) *ExtensionRecord {
	if f.prog.Extensions == nil {
		f.prog.Extensions = map[string]*ExtensionRecord{}
	}
	rec := &ExtensionRecord{Publisher: ext.Publisher, Type: ext.Type, Status: st, Pending: true, At: f.now()}
	if st.ProvisioningState == machineapi.ProvisioningDeleted {
		rec.Deleted = ext.Generation
		if old := f.prog.Extensions[ext.Name]; old != nil {
			rec.Done = old.Done
		}
	} else {
		rec.Done = ext.Generation
	}
	f.prog.Extensions[ext.Name] = rec
	f.save()
	return rec
}

// finish records st and reports it; a report that fails stays pending for the next step.
func (f *Follower) finish(ctx context.Context, ext machineapi.Extension, st machineapi.ExtensionStatus) {
	rec := f.record(ext, st)
	if err := f.report(ctx, ext.Name, st); err != nil {
		f.noteError("report", err)
		return
	}
	rec.Pending = false
	f.save()
}

// flushPending sends the final statuses not yet acknowledged. A refusal (4xx: the extension
// is gone, say) drops the status: sending it again would be refused again. Anything else
// keeps it for the next try.
func (f *Follower) flushPending(ctx context.Context) error {
	for name, rec := range f.prog.Extensions {
		if !rec.Pending {
			continue
		}
		err := f.report(ctx, name, rec.Status)
		var api *APIError
		if err != nil && (!errors.As(err, &api) || api.Status >= 500) {
			return err
		}
		if err != nil {
			f.noteError("report", err)
		}
		rec.Pending = false
		f.save()
	}
	return nil
}

// report sends one extension status.
func (f *Follower) report(ctx context.Context, name string, st machineapi.ExtensionStatus) error {
	return f.c.call(ctx, http.MethodPut, machineapi.PathExtensionStatus+"/"+url.PathEscape(name), st, nil)
}

// noteError keeps err as the last error of step, for "latch agent status".
func (f *Follower) noteError(step string, err error) {
	if f.prog.Errors == nil {
		f.prog.Errors = map[string]StepError{}
	}
	f.prog.Errors[step] = StepError{At: f.now(), Message: err.Error()}
	f.save()
}

// save writes the progress; a failure is logged, as the agent can go on without it.
func (f *Follower) save() {
	if err := saveProgress(f.dir, f.prog); err != nil {
		f.log.Error("saving the goal state progress", "error", err)
	}
}
