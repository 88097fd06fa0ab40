package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/bootstrap"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/tlsca"
	"github.com/latchsh/latch/token"
)

// Ids of the claims BenchmarkTokenServiceSign signs; any well-formed GUIDs do.
const (
	benchTenant = "8d7e1a3c-5b2f-4c9d-9e1a-2b3c4d5e6f70"
	benchObject = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	benchApp    = "4f1c2b3a-9d8e-4a7b-8c6d-5e4f3a2b1c0d"
)

// fixture is a running Latch token service on 127.0.0.1 over HTTPS, set up as a first start
// sets it up, and a keep-alive client holding the owner's client credentials.
type fixture struct {
	url      string // base URL of the server
	tenantID string
	tokens   *token.Service
	client   *http.Client
	endpoint string        // the tenant's token endpoint
	form     string        // the client-credentials request body
	conns    *atomic.Int64 // connections the server accepted, to show keep-alive held
}

func openSQLite(b *testing.B) store.Store {
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "latch.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// newFixture bootstraps a tenant in st, starts the server with its production TLS settings and
// a discarded log, and builds a client that trusts the server's local CA. Everything is torn
// down with b.
func newFixture(b *testing.B, st store.Store) *fixture {
	ctx := context.Background()
	dir := b.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	certs, err := tlsca.Ensure(filepath.Join(dir, "tls"), "127.0.0.1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	tokens := token.NewService(st, token.Config{})
	res, err := bootstrap.Run(ctx, st, tokens, bootstrap.Options{Dir: dir, URL: base,
		Domain: "bench.test", CAFile: certs.CA})
	if err != nil {
		b.Fatal(err)
	}
	creds, err := bootstrap.ReadFile(dir)
	if err != nil {
		b.Fatal(err)
	}
	srv := &httpapi.Server{Store: st, Tokens: tokens, Secrets: authn.NewSecretVerifier(time.Now),
		Log: slog.New(slog.DiscardHandler), Now: time.Now, URL: base, HomeTenantID: res.Tenant.ID}
	conns := new(atomic.Int64)
	serve(b, ln, srv.Handler(), certs.Files, conns)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {creds.Owner.AppID},
		"client_secret": {creds.Owner.Secret}, "scope": {base + "/arm//.default"}}
	return &fixture{url: base, tenantID: res.Tenant.ID, tokens: tokens, client: newClient(b, certs.CA),
		endpoint: base + "/" + res.Tenant.ID + "/oauth2/v2.0/token", form: form.Encode(), conns: conns}
}

// serve runs h on ln with the TLS configuration `latch serve` uses, counting connections.
func serve(b *testing.B, ln net.Listener, h http.Handler, f tlsca.Files, conns *atomic.Int64) {
	kp, err := tlsca.LoadKeypair(f.Cert, f.Key)
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h, TLSConfig: kp.ServerConfig(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}}
	go hs.ServeTLS(ln, "", "")
	b.Cleanup(func() { hs.Close() })
}

// newClient is an HTTP/1.1 keep-alive client, as most SDKs use against a token endpoint, with
// a connection for every goroutine b.RunParallel starts so that none is made mid-run.
func newClient(b *testing.B, caFile string) *http.Client {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		b.Fatalf("%s holds no certificate", caFile)
	}
	conns := clientsPerCore * runtime.GOMAXPROCS(0)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// issue asks for one token and returns an error unless the answer is a 200 with an access token.
func (f *fixture) issue() error {
	resp, err := f.client.Post(f.endpoint, "application/x-www-form-urlencoded", strings.NewReader(f.form))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // read to the end so the connection is reused
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"access_token":"ey`)) {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
	}
	return nil
}

// check issues one token outside the timed loop and verifies it completely, so the benchmark
// is known to measure real tokens for the right audience, not fast refusals.
func (f *fixture) check(b *testing.B) {
	resp, err := f.client.Post(f.endpoint, "application/x-www-form-urlencoded", strings.NewReader(f.form))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &tr); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("token request: status %d: %.300s", resp.StatusCode, body)
	}
	c, err := f.tokens.Verify(context.Background(), tr.AccessToken, token.VerifyOptions{Kind: token.KindAccess,
		Audiences: []string{f.url + "/arm/"}, Issuers: []string{f.url + "/" + f.tenantID + "/v2.0"}})
	if err != nil {
		b.Fatalf("the issued token does not verify: %v", err)
	}
	if c.PrincipalType != token.PrincipalApp {
		b.Fatalf("idtyp %q, want %q", c.PrincipalType, token.PrincipalApp)
	}
}
