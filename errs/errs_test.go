package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindsAndMessages(t *testing.T) {
	inner := E("store.Get", NotFound, "No such user.", Code("Request_ResourceNotFound"))
	outer := E("httpapi.getUser", Internal, fmt.Errorf("wrapped: %w", inner))
	if KindOf(outer) != NotFound || Message(outer) != "No such user." || CodeOf(outer) != "Request_ResourceNotFound" {
		t.Fatalf("an Internal wrapper must take the inner kind, message and code: %v %q %q", KindOf(outer), Message(outer), CodeOf(outer))
	}
	if !errors.Is(outer, inner) {
		t.Fatal("the cause is not reachable with errors.Is")
	}
	secret := E("db.Query", Internal, "password=hunter2 in the DSN", errors.New("boom"))
	if Message(secret) != "An internal error occurred." {
		t.Fatalf("fail/internal-leak: %q", Message(secret))
	}
	if Message(errors.New("foreign")) != "An internal error occurred." || KindOf(errors.New("x")) != Internal {
		t.Fatal("fail/foreign-error: must be internal with a fixed message")
	}
	if Is(nil, Internal) {
		t.Fatal("nil is no error of any kind")
	}
	if got := Message(E("op", TooMany)); got != "Too many." {
		t.Fatalf("a kind without message: %q", got)
	}
}
