package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/store"
)

// FuzzLoginEvents: whatever a machine sends, the checks never panic, what they accept is
// bounded printable text, and its entry id is a GUID that depends on the machine.
func FuzzLoginEvents(f *testing.F) {
	f.Add(`{"value":[{"id":"a1","time":"2026-03-01T12:00:00Z","user":"alice@contoso.test","allowed":true,"reason":"ok"}]}`)
	f.Add(`{"value":[{"id":"","time":"0001-01-01T00:00:00Z","user":"\n"}]}`)
	f.Add(`{"value":[{"id":"x","objectId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","address":"::1","time":"2026-03-01T12:00:00Z","user":"u"}]}`)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m1, m2 := store.Machine{TenantID: "t", ID: "m1"}, store.Machine{TenantID: "t", ID: "m2"}
	f.Fuzz(func(t *testing.T, body string) {
		var b loginEventsBody
		if json.Unmarshal([]byte(body), &b) != nil {
			return
		}
		for _, ev := range b.Value {
			if checkLoginEvent(ev, now) != nil {
				continue
			}
			if ev.ID == "" || len(ev.Reason) > 2048 || strings.ContainsAny(ev.User+ev.Reason+ev.UPN, "\n\r") {
				t.Fatalf("accepted %+v", ev)
			}
			id1, id2 := machineLoginEntryID(m1, ev.ID), machineLoginEntryID(m2, ev.ID)
			if !directory.IsGUID(id1) || id1 == id2 || id1 != machineLoginEntryID(m1, ev.ID) {
				t.Fatalf("entry ids %q %q", id1, id2)
			}
		}
	})
}
