package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// Case is one conformance test, run on a fresh, empty store.
type Case struct {
	Name string
	Fn   func(t *testing.T, s store.Store)
}

// Cases lists every case Run runs, failures first.
func Cases() []Case {
	var cs []Case
	for _, group := range [][]Case{directoryFailures, grantFailures, otherFailures, resourceFailures, authMethodFailures, sshCAFailures, deviceFailures, machineFailures, conditionalFailures, hostFailures,
		directoryOK, grantOK, otherOK, resourceOK, authMethodOK, sshCAOK, deviceOK, machineOK, conditionalOK, hostOK,
		concurrency, resourceConcurrency, conditionalConcurrency, authMethodConcurrency, machineConcurrency, deviceConcurrency, hostConcurrency} {
		cs = append(cs, group...)
	}
	return cs
}

// Run runs every case as a subtest named like "fail/user-duplicate-upn". open must return a new,
// empty store for each call; Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			c.Fn(t, s)
		})
	}
}

// t0 is the suite's "now": a fixed instant, so expiry is decided by the times the cases pass,
// never by the clock of the machine running them.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func ctx(t *testing.T) context.Context { return t.Context() }

// newID returns a random GUID, so cases never collide with each other's objects.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// wantKind fails the test unless err is an *errs.Error of kind k.
func wantKind(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want an *errs.Error of kind %v", err, err, k)
	}
	if e.Kind != k {
		t.Fatalf("got kind %v (%v), want %v", e.Kind, err, k)
	}
}

// wantGrantError is wantKind plus the OAuth code the token endpoint will show.
func wantGrantError(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	wantKind(t, err, k)
	if c := errs.CodeOf(err); c != "invalid_grant" {
		t.Fatalf("got code %q (%v), want invalid_grant", c, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// race runs fn(i) for i in [0, n) on n goroutines released together, and returns their errors.
func race(n int, fn func(i int) error) []error {
	out := make([]error, n)
	start := make(chan struct{})
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			out[i] = fn(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
	return out
}

// tally counts errors by kind; nil errors count under "ok".
func tally(errsIn []error) map[string]int {
	m := map[string]int{}
	for _, err := range errsIn {
		if err == nil {
			m["ok"]++
			continue
		}
		m[errs.KindOf(err).String()]++
	}
	return m
}
