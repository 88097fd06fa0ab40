package imds

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// startLoopback serves s on a fresh loopback port until the test ends and returns its URL.
func startLoopback(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := s.ListenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestOverSockets checks what a recorder cannot show: the status line's reason phrase (az
// matches "Bad Request"), and that a real client is never redirected.
func TestOverSockets(t *testing.T) {
	s, _, _ := newTestServer(t, Config{}, systemID, userID)
	base := startLoopback(t, s)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirected") }}
	cases := []struct{ path, status string }{
		{tokenPath + "?" + v18 + "&" + arm + "&client_id=nobody", "400 Bad Request"},
		{tokenPath + "?" + v18 + "&" + arm + "&client_id=" + userID.ClientID, "200 OK"},
		{"//metadata/instance?" + v21, "404 Not Found"},
		{"/metadata/instance/?" + v21, "200 OK"},
		{"/metadata/./instance?" + v21, "404 Not Found"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
		req.Header.Set("Metadata", "true")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Status != c.status {
			t.Errorf("%s: %q %s, want %q", c.path, resp.Status, body, c.status)
		}
	}
}

func TestListenLoopbackRefusesOtherAddresses(t *testing.T) {
	s, _, _ := newTestServer(t, Config{}, systemID)
	for _, addr := range []string{"0.0.0.0:0", "10.0.0.4:0", ":0", "localhost:0", "nonsense"} {
		if ln, err := s.ListenLoopback(addr); err == nil {
			ln.Close()
			t.Errorf("ListenLoopback(%q) succeeded", addr)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{IdentityRate: -1, IdentityConcurrency: -1, TokenTimeout: -1, IdentityHeader: "short"}.Validate()
	for _, want := range []string{"rates", "IdentityConcurrency", "durations", "IdentityHeader"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to mention %s", err, want)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
}

func TestRandomIdentityHeader(t *testing.T) {
	a, b := New(newFakeSource(nil), Config{}), New(newFakeSource(nil), Config{})
	if len(a.IdentityHeader()) < 32 || a.IdentityHeader() == b.IdentityHeader() {
		t.Errorf("identity headers %q %q", a.IdentityHeader(), b.IdentityHeader())
	}
}
