package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/token"
)

// The sign-in log is written behind issuance, not in its path: a token endpoint answering
// thousands of client-credential requests a second would otherwise wait for one store write
// per token. Entries go through a bounded queue to two writer goroutines, each writing what
// has queued up in one transaction when the store can (signInBatcher). Two, measured with
// bench/server.sh: one leaves PostgreSQL's round trips unoverlapped, four make SQLite's
// writers wait on each other's locks. Nothing is dropped:
// when the queue is full the request waits up to signInQueueWait for room and then writes
// its entry itself. FlushSignIns, called on shutdown, writes what is queued.

const (
	signInQueueSize  = 8192
	signInWriters    = 2
	signInQueueWait  = 50 * time.Millisecond
	signInWriteLimit = 5 * time.Second // per entry; a store slower than this is down
)

// signInWriter is the queue and its writers.
type signInWriter struct {
	start sync.Once
	q     chan signInJob
	// Synchronous counts entries written by the request itself because the queue stayed
	// full; Failed counts entries the store refused (they are logged with the error).
	Synchronous, Failed atomic.Int64
}

// signInJob is one entry to write, or a flush barrier (barrier set, entry empty). A user
// sign-in's entry comes as user, which the writer builds into entry (userEntry).
type signInJob struct {
	tenantID string
	entry    signinlog.Entry
	user     *userEntry
	barrier  *flushBarrier
}

// userEntry is a user sign-in's log entry before it is built. The entry lists every policy's
// result (1,000 policies, 1,000 entries), which is the costliest part of the sign-in log to
// make; the request keeps only the decision's compact copy (caDecision) and the writer
// expands and builds it, off the token endpoint's path.
type userEntry struct {
	in     signinlog.Input
	result conditional.Compact
	status *signinlog.Status // a refusal that was not Conditional Access's
}

// build makes the entry.
func (u *userEntry) build() signinlog.Entry {
	e := signinlog.New(u.in, u.result.Expand())
	if u.status != nil {
		e.Status = *u.status
	}
	return e
}

// built makes j's entry when it came as a user sign-in.
func (j *signInJob) built() {
	if j.user != nil {
		j.entry, j.user = j.user.build(), nil
	}
}

// flushBarrier holds every writer that takes it until all have: then every job queued
// before the barriers is written.
type flushBarrier struct {
	arrived sync.WaitGroup
	release chan struct{}
}

func (s *Server) signInQueue() chan signInJob {
	w := &s.caState().signIns
	w.start.Do(func() {
		w.q = make(chan signInJob, signInQueueSize)
		for range signInWriters {
			go s.writeSignIns(w.q)
		}
	})
	return w.q
}

// signInBatch caps the entries one writer takes from the queue at once.
const signInBatch = 256

// signInBatcher is a store that writes many sign-ins in one transaction (sqlstore does);
// with another store each entry is written on its own.
type signInBatcher interface {
	AppendSignIns(ctx context.Context, tenantID string, entries []signinlog.Entry) error
}

// signInLinger is how long a writer, woken by one entry, lets more gather before it writes.
// Under load a writer would otherwise wake for every entry and commit it on its own: the
// commit, not the row, is what costs (bench/server.sh). The log is then up to this much behind
// the sign-ins, and FlushSignIns up to this much slower; both are far below what a reader of
// the log notices.
const signInLinger = 10 * time.Millisecond

// writeSignIns is one writer goroutine: it runs for the server's life. Woken by an entry, it
// waits signInLinger, then takes what has queued, up to signInBatch entries, and writes them
// together; a barrier ends a batch and is answered without waiting.
func (s *Server) writeSignIns(q chan signInJob) {
	batch := make([]signInJob, 0, signInBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for job := range q {
		batch = append(batch[:0], job)
		if job.barrier == nil {
			linger.Reset(signInLinger)
			<-linger.C
		}
	more:
		for len(batch) < signInBatch && batch[len(batch)-1].barrier == nil {
			select {
			case next := <-q:
				batch = append(batch, next)
			default:
				break more
			}
		}
		last := batch[len(batch)-1]
		if last.barrier != nil {
			batch = batch[:len(batch)-1]
		}
		s.storeSignIns(batch)
		if b := last.barrier; b != nil {
			b.arrived.Done()
			<-b.release
		}
	}
}

// storeSignIns writes jobs, per tenant in one transaction when the store can; a batch the
// store refuses is written entry by entry, so one bad entry costs no other.
func (s *Server) storeSignIns(jobs []signInJob) {
	for i := range jobs {
		jobs[i].built()
	}
	bs, ok := s.Store.(signInBatcher)
	if !ok || len(jobs) == 1 {
		for _, j := range jobs {
			s.storeSignIn(j.tenantID, j.entry)
		}
		return
	}
	byTenant := map[string][]signinlog.Entry{}
	for _, j := range jobs {
		byTenant[j.tenantID] = append(byTenant[j.tenantID], j.entry)
	}
	for tid, entries := range byTenant {
		ctx, cancel := context.WithTimeout(context.Background(), signInWriteLimit)
		err := bs.AppendSignIns(ctx, tid, entries)
		cancel()
		if err != nil {
			for _, e := range entries {
				s.storeSignIn(tid, e)
			}
		}
	}
}

func (s *Server) storeSignIn(tenantID string, e signinlog.Entry) {
	ctx, cancel := context.WithTimeout(context.Background(), signInWriteLimit)
	defer cancel()
	if err := s.Store.AppendSignIn(ctx, tenantID, e); err != nil {
		s.caState().signIns.Failed.Add(1)
		s.Log.Error("sign-in log write failed", "correlationId", e.CorrelationID, "entry", e.ID, "error", err.Error())
	}
}

// InsecureBenchNoSignInLog names the environment variable that, set to 1, turns the sign-in
// log off for the whole process. It exists for bench/server.sh alone, which alternates rounds
// with and without the log to measure what the log costs issuance; a server run with it keeps
// no record of any sign-in.
const InsecureBenchNoSignInLog = "LATCH_INSECURE_BENCH_NO_SIGNIN_LOG"

var signInLogOff = os.Getenv(InsecureBenchNoSignInLog) == "1"

// appendSignIn queues one entry, or writes it at once when the queue stays full.
func (s *Server) appendSignIn(tenantID string, e signinlog.Entry) {
	s.queueSignIn(signInJob{tenantID: tenantID, entry: e})
}

// queueSignIn queues job, or builds and writes its entry at once when the queue stays full.
func (s *Server) queueSignIn(job signInJob) {
	if signInLogOff {
		return
	}
	q := s.signInQueue()
	select {
	case q <- job:
		return
	default:
	}
	t := time.NewTimer(signInQueueWait)
	defer t.Stop()
	select {
	case q <- job:
	case <-t.C:
		s.caState().signIns.Synchronous.Add(1)
		job.built()
		s.storeSignIn(job.tenantID, job.entry)
	}
}

// FlushSignIns returns once every sign-in queued before the call is written, or when ctx
// ends. Call it after the HTTP server has shut down, so no sign-in is lost.
func (s *Server) FlushSignIns(ctx context.Context) error {
	b := &flushBarrier{release: make(chan struct{})}
	defer close(b.release)
	q := s.signInQueue()
	for range signInWriters {
		b.arrived.Add(1)
		select {
		case q <- signInJob{barrier: b}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	go func() { b.arrived.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// signInID is a new entry's id: a GUID whose first 48 bits are the sign-in's Unix time in
// milliseconds (the layout of RFC 9562's version 7) and the rest random. The store's index of
// ids then grows at its end, as the log does, instead of taking each entry at a random place:
// with random ids every entry of a batch dirtied an index page of its own, which the database
// wrote out whole (bench/server.sh --signin-log). Ids stay unguessable by their 74 random bits.
func signInID(t time.Time) string {
	var b [16]byte
	mustRand(b[:])
	ms := uint64(max(t.UnixMilli(), 0))
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// clientAppUsed is Graph's clientAppUsed for a Conditional Access client app type.
func clientAppUsed(t string) string {
	if t == conditional.ClientBrowser {
		return "Browser"
	}
	return "Mobile Apps and Desktop clients"
}

// logUserSignIn records a user sign-in decided by d (the zero decision when it failed
// before Conditional Access) that ended with err (nil on success).
func (s *Server) logUserSignIn(r *http.Request, tenantID string, x userSignIn, d caDecision, err error) {
	if x.User.ID == "" || signInLogOff {
		return
	}
	now := s.now()
	in := signinlog.Input{ID: signInID(now), Time: now, CorrelationID: chainCorrelationID(r.Context()),
		UserID: x.User.ID, UserPrincipalName: x.User.UserPrincipalName, UserDisplayName: x.User.DisplayName,
		AppID: x.Client.AppID, AppDisplayName: x.Client.DisplayName, ResourceID: x.ResourceID,
		ResourceDisplayName: x.ResourceName, Address: remoteAddr(r), ClientAppUsed: clientAppUsed(x.ClientAppType),
		Interactive: x.Interactive, Flow: x.Flow, Methods: x.Methods, Risk: d.Risk, RiskReasons: d.Reasons,
		Strengths: d.Custom}
	in.Device.OperatingSystem = platformOf(r.UserAgent())
	if x.Flow == signinlog.FlowSSHCertificate {
		in.MachineResourceID = x.ResourceID
		if err == nil { // the key id the certificate carries, which the machine's login entry names too
			in.SSHCertificateKey = token.SSHKeyID{CorrelationID: in.CorrelationID, TenantID: tenantID,
				ObjectID: x.User.ID, UPN: x.User.UserPrincipalName}.String()
		}
	}
	// The entry is built by the writer, from copies: in.Methods may be the session's.
	in.Methods = slices.Clone(in.Methods)
	u := &userEntry{in: in, result: d.Result}
	var ca *caRefusal
	if err != nil && !errors.As(err, &ca) {
		st := failureStatus(err)
		u.status = &st
	}
	s.queueSignIn(signInJob{tenantID: tenantID, user: u})
}

// logAppSignIn records a service principal's sign-in (client credentials, managed identity).
// Conditional Access does not apply to app-only sign-ins.
func (s *Server) logAppSignIn(r *http.Request, tenantID, flow string, appID, appName, resource string, err error) {
	if signInLogOff { // not even the entry is built: the benchmark's baseline is no log at all
		return
	}
	now := s.now()
	in := signinlog.Input{ID: signInID(now), Time: now, CorrelationID: CorrelationID(r.Context()),
		AppID: appID, AppDisplayName: appName, ResourceID: resource, ResourceDisplayName: resource,
		Address: remoteAddr(r), ClientAppUsed: clientAppUsed(""), Flow: flow}
	e := signinlog.New(in, conditional.Result{Status: conditional.StatusNotApplied})
	e.UserID = ""
	if err != nil {
		e.Status = failureStatus(err)
	}
	s.appendSignIn(tenantID, e)
}

// logPageFailure records a sign-in the pages refused before any token (a wrong password or
// code, a locked or disabled account) with the message the person saw. tried is the method
// that failed. An unknown user name is logged as typed, as Entra does, so a password spray
// shows in the log.
func (s *Server) logPageFailure(r *http.Request, f signInFlow, upn, tried string, err error) {
	now := s.now()
	in := signinlog.Input{ID: signInID(now), Time: now, CorrelationID: CorrelationID(r.Context()),
		UserPrincipalName: truncate(upn, 256), AppDisplayName: f.App, Address: remoteAddr(r),
		ClientAppUsed: clientAppUsed(conditional.ClientBrowser), Interactive: true, Flow: signinlog.FlowBrowser,
		FailedMethods: []string{tried}}
	if u, uerr := s.Store.GetUserByUPN(r.Context(), f.Tenant.ID, directory.NormalizeUPN(upn)); uerr == nil {
		in.UserID, in.UserPrincipalName, in.UserDisplayName = u.ID, u.UserPrincipalName, u.DisplayName
	}
	st := failureStatus(err)
	switch errs.KindOf(err) {
	case errs.Unauthenticated:
		st.ErrorCode = 50126 // invalid user name or password (or code)
	case errs.TooMany:
		st.ErrorCode = 50053 // locked out by too many attempts
	case errs.PermissionDenied:
		st.ErrorCode = 50057 // disabled
	}
	in.AuthError = &st
	s.appendSignIn(f.Tenant.ID, signinlog.New(in, conditional.Result{}))
}

// failureStatus is the log's status for a refusal that was not Conditional Access's: the
// AADSTS number the client saw and the message.
func failureStatus(err error) signinlog.Status {
	msg := errs.Message(err)
	n, ok := aadstsNumber(msg)
	if !ok {
		n = aadsts[oauthCodeOf(err)]
	}
	if errs.KindOf(err) == errs.Internal {
		msg = "An internal error occurred."
	}
	return signinlog.Status{ErrorCode: n, FailureReason: msg}
}
