package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/bootstrap"
	"github.com/latchsh/latch/config"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store"
)

// syncBuffer is stderr for a server running in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listening is the "listening" log line the server writes once it accepts requests.
type listening struct {
	URL    string `json:"url"`
	CAFile string `json:"caFile"`
}

// startServer runs serve with cfg until the returned stop is called; stop returns serve's error.
func startServer(t *testing.T, cfg config.Config) (listening, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, out) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not return after cancellation")
			return nil
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(out.String(), "\n") {
			var l listening
			if strings.Contains(line, `"msg":"listening"`) && json.Unmarshal([]byte(line), &l) == nil {
				return l, out, stop
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("the server did not start:\n%s", out.String())
	return listening{}, nil, nil
}

func testConfig(t *testing.T, data string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Data = data
	cfg.Addr = "127.0.0.1:0"
	cfg.ShutdownTimeout = config.Duration(5 * time.Second)
	cfg.Complete()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func clientTrusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the CA file")
	}
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeFirstAndSecondStart(t *testing.T) {
	data := t.TempDir()
	l, out, stop := startServer(t, testConfig(t, data))
	if l.CAFile != filepath.Join(data, "tls", "ca.pem") || !strings.HasPrefix(l.URL, "https://localhost:") {
		t.Fatalf("listening on %q with CA %q", l.URL, l.CAFile)
	}
	c := clientTrusting(t, l.CAFile)
	if code, body := get(t, c, l.URL+"/healthz"); code != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	if code, body := get(t, c, l.URL+"/metrics"); code != 200 ||
		!strings.Contains(body, `latch_http_requests_total{code="200",route="GET /healthz"} 1`) {
		t.Fatalf("/metrics = %d, lacks the /healthz request:\n%s", code, body)
	}
	fi, err := os.Stat(filepath.Join(data, bootstrap.FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap.json: %v, mode %v; want mode 0600", err, fi.Mode().Perm())
	}
	f, err := bootstrap.ReadFile(data)
	if err != nil || f.Owner.Secret == "" || f.Admin.TemporaryAccessPass == "" || f.URL != l.URL {
		t.Fatalf("bootstrap.json = %+v, %v", f, err)
	}
	if !strings.Contains(out.String(), bootstrap.FileName) || strings.Contains(out.String(), f.Owner.Secret) {
		t.Fatal("first start must point to bootstrap.json and never print the secret")
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	l2, out2, stop2 := startServer(t, testConfig(t, data))
	defer stop2()
	if strings.Contains(out2.String(), "created tenant") {
		t.Fatal("the second start bootstrapped again")
	}
	f2, _ := bootstrap.ReadFile(data)
	if f2 != f {
		t.Fatal("the second start rewrote bootstrap.json")
	}
	if code, _ := get(t, clientTrusting(t, l.CAFile), l2.URL+"/healthz"); code != 200 {
		t.Fatal("the second start does not serve with the first start's CA")
	}
}

func TestServeRefusesPlainHTTPClients(t *testing.T) {
	l, _, stop := startServer(t, testConfig(t, t.TempDir()))
	defer stop()
	resp, err := http.Get(strings.Replace(l.URL, "https://", "http://", 1) + "/healthz")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP was served")
		}
	}
}

func TestServeCommandRefusesBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"fail/insecure-public", []string{"--data", t.TempDir(), "--insecure-http", "--addr", ":8080"}, "loopback"},
		{"fail/no-data", []string{"--addr", "127.0.0.1:0"}, "--data is required"},
		{"fail/two-problems", []string{"--data", t.TempDir(), "--signing-alg", "HS256", "--log-format", "xml"}, "--log-format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newServeCommand()
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve %v = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

// brokenStore answers GetTenant with an error, or not at all while block is set.
type brokenStore struct {
	store.Store
	block bool
}

func (b brokenStore) GetTenant(ctx context.Context, id string) (directory.Tenant, error) {
	if b.block {
		time.Sleep(time.Second)
	}
	return directory.Tenant{}, errs.E("test", errs.Unavailable, "database down")
}

func TestHealthzReportsStoreTrouble(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		name string
		st   store.Store
	}{
		{"fail/store-error", brokenStore{}},
		{"fail/store-slow", brokenStore{block: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := healthz(tt.st, "t", 50*time.Millisecond, log)
			rec := &recorder{header: http.Header{}}
			start := time.Now()
			h.ServeHTTP(rec, (&http.Request{Method: "GET"}).WithContext(context.Background()))
			if rec.code != http.StatusServiceUnavailable || time.Since(start) > 900*time.Millisecond {
				t.Fatalf("healthz = %d after %v, want a prompt 503", rec.code, time.Since(start))
			}
		})
	}
}

type recorder struct {
	header http.Header
	code   int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return len(b), nil
}
func (r *recorder) WriteHeader(code int) { r.code = code }

func TestGracefulShutdown(t *testing.T) {
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		hold    time.Duration
		wantErr bool
	}{
		{"ok/in-flight-request-finishes", 5 * time.Second, 200 * time.Millisecond, false},
		{"fail/request-outlives-timeout", 100 * time.Millisecond, 3 * time.Second, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			started := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				time.Sleep(tt.hold)
				io.WriteString(w, "done")
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- serveUntilDone(ctx, newHTTPServer(h, nil, log), ln, false, tt.timeout, log) }()
			reply := make(chan error, 1)
			go func() {
				resp, err := http.Get("http://" + ln.Addr().String() + "/")
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				reply <- err
			}()
			<-started
			cancel()
			if err := <-done; (err != nil) != tt.wantErr {
				t.Fatalf("serveUntilDone = %v, want error %v", err, tt.wantErr)
			}
			if err := <-reply; (err != nil) != tt.wantErr {
				t.Fatalf("in-flight request: %v, want error %v", err, tt.wantErr)
			}
			if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				t.Fatal("still accepting connections after shutdown")
			}
		})
	}
}
