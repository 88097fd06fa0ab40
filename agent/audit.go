package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"log/syslog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/openssh"
)

// Every login decision, allowed or refused, is written to the agent's log (the journal under
// systemd), to syslog's auth facility when /dev/log exists (where sshd's own lines are), and
// to a spool file in the state directory from which it is shipped to the control plane's
// sign-in log. The spool survives restarts; an event leaves it only after the control plane
// took it, and the control plane keeps each event id once, so a resend after a crash between
// the two does no harm.

const (
	auditSpoolFile = "login-events.jsonl"
	// maxShipBatch is what the control plane takes in one call.
	maxShipBatch = 100
	// shipInterval is how often the spool is looked at; shipRetryMax caps the back-off.
	shipInterval = 2 * time.Second
	shipRetryMax = 5 * time.Minute
)

// auditLog records login events and ships them.
type auditLog struct {
	path   string
	client *Client
	log    *slog.Logger
	sys    *syslog.Writer // nil without /dev/log
	mu     sync.Mutex     // guards the spool file
	kick   chan struct{}
	now    func() time.Time

	recentMu sync.Mutex
	recent   map[string]time.Time // decisions recorded within repeatWindow
}

// repeatWindow: sshd runs the principals command twice for one login, once when the client
// offers the key and again when it signs with it, within milliseconds. The second, identical
// decision is not a second login, so it is not recorded twice. A person logging in again
// with the same certificate takes longer than this.
const repeatWindow = 2 * time.Second

func newAuditLog(path string, c *Client, log *slog.Logger, useSyslog bool) *auditLog {
	a := &auditLog{path: path, client: c, log: log, kick: make(chan struct{}, 1), now: time.Now, recent: map[string]time.Time{}}
	if _, err := os.Stat("/dev/log"); err == nil && useSyslog {
		a.sys, _ = syslog.New(syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "latch-agent")
	}
	return a
}

// loginEvent turns one decision into the event the control plane keeps. err is what
// openssh.Principals returned: nil when the login was allowed.
func loginEvent(now time.Time, l openssh.Login, v verdict, err error) machineapi.LoginEvent {
	ev := machineapi.LoginEvent{ID: newEventID(), Time: now.UTC(), User: l.User, ObjectID: l.ObjectID,
		UPN: l.KeyID.UPN, CorrelationID: l.KeyID.CorrelationID, Allowed: err == nil, Admin: v.Admin,
		Reason: v.Reason, Stale: v.Stale}
	if l.Cert != nil {
		ev.KeyID, ev.Serial = l.Cert.KeyId, l.Cert.Serial
	}
	// Before the certificate checked out, only its raw key id and serial are kept: the rest
	// is what an untrusted signer claimed.
	if err != nil && (ev.Reason == "" || v.Allow) {
		// A check before or after the decision refused, or no decision came.
		ev.Reason = err.Error()
	}
	return ev
}

func newEventID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// record logs ev and appends it to the spool. A spool that cannot be written is logged: the
// decision stands, and the journal still has the event.
func (a *auditLog) record(ev machineapi.LoginEvent) {
	if a.repeated(ev) {
		return
	}
	attrs := []any{"user", ev.User, "objectId", ev.ObjectID, "upn", ev.UPN, "keyId", ev.KeyID,
		"serial", ev.Serial, "correlationId", ev.CorrelationID, "admin", ev.Admin, "stale", ev.Stale, "reason", ev.Reason, "eventId", ev.ID}
	msg := "directory login refused"
	if ev.Allowed {
		msg = "directory login allowed"
	}
	switch {
	case !ev.Allowed:
		a.log.Warn(msg, attrs...)
	case ev.Stale:
		a.log.Warn(msg+" from cached rules", attrs...)
	default:
		a.log.Info(msg, attrs...)
	}
	if a.sys != nil {
		a.sys.Info(fmt.Sprintf("%s: user=%q upn=%q keyId=%q serial=%d reason=%q", msg, ev.User, ev.UPN, ev.KeyID, ev.Serial, ev.Reason))
	}
	if err := a.appendSpool(ev); err != nil {
		a.log.Error("login event not spooled for the control plane", "eventId", ev.ID, "error", err)
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// repeated reports whether the same decision on the same certificate was recorded within
// repeatWindow, and forgets older ones.
func (a *auditLog) repeated(ev machineapi.LoginEvent) bool {
	if ev.KeyID == "" {
		return false // nothing identifies the certificate: record every one
	}
	key := fmt.Sprintf("%s|%s|%d|%t|%s", ev.User, ev.KeyID, ev.Serial, ev.Allowed, ev.Reason)
	now := a.now()
	a.recentMu.Lock()
	defer a.recentMu.Unlock()
	for k, t := range a.recent {
		if now.Sub(t) > repeatWindow {
			delete(a.recent, k)
		}
	}
	if _, ok := a.recent[key]; ok {
		return true
	}
	a.recent[key] = now
	return false
}

func (a *auditLog) appendSpool(ev machineapi.LoginEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Close())
}

// pending reads up to max events from the head of the spool. Lines that do not parse (a
// crash mid-write) are counted so they are dropped with the batch.
func (a *auditLog) pending(max int) (evs []machineapi.LoginEvent, lines int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := os.ReadFile(a.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for len(evs) < max && sc.Scan() {
		lines++
		var ev machineapi.LoginEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.ID != "" {
			evs = append(evs, ev)
		}
	}
	return evs, lines, err
}

// drop removes the first n lines of the spool, which were shipped. Events appended since
// were appended after them, so they stay.
func (a *auditLog) drop(n int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := os.ReadFile(a.path)
	if err != nil {
		return err
	}
	for i := 0; i < n && len(b) > 0; i++ {
		j := bytes.IndexByte(b, '\n')
		if j < 0 {
			b = nil
			break
		}
		b = b[j+1:]
	}
	return writeFile(a.path, b, 0o600)
}

// shipOnce sends the spool in batches until it is empty or a send fails.
func (a *auditLog) shipOnce(ctx context.Context) error {
	if a.client == nil {
		return nil
	}
	for {
		evs, lines, err := a.pending(maxShipBatch)
		if err != nil || lines == 0 {
			return err
		}
		if len(evs) > 0 {
			if err := a.client.SendLoginEvents(ctx, evs); err != nil {
				return err
			}
		}
		if err := a.drop(lines); err != nil {
			return err
		}
	}
}

// shipLoop ships the spool when an event is recorded and every shipInterval, backing off
// while the control plane does not take it.
func (a *auditLog) shipLoop(ctx context.Context) {
	wait := shipInterval
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		case <-time.After(wait):
		}
		if err := a.shipOnce(ctx); err != nil && ctx.Err() == nil {
			wait = min(wait*2, shipRetryMax)
			a.log.Warn("login events not shipped yet; they stay spooled", "retryIn", wait, "error", err)
			continue
		}
		wait = shipInterval
	}
}

// SendLoginEvents posts events (at most 100) to the control plane's sign-in log.
func (c *Client) SendLoginEvents(ctx context.Context, events []machineapi.LoginEvent) error {
	return c.call(ctx, http.MethodPost, machineapi.PathLogins, map[string]any{"value": events}, nil)
}
