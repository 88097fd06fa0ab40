package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/bootstrap"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/tlsca"
	"github.com/latchsh/latch/token"
)

// Server is a whole control plane running inside the test process: the real store, token
// service, bootstrap and HTTP API behind real TLS on 127.0.0.1, reached as https://localhost
// (a name, as browsers and WebAuthn need).
type Server struct {
	URL      string // https://localhost:PORT
	Data     string // the data directory (bootstrap.json, tls/)
	CAFile   string
	Client   *http.Client // trusts CAFile
	Store    store.Store
	Tokens   *token.Service
	API      *httpapi.Server
	Boot     bootstrap.File // what bootstrap.json holds: tenant, owner secret, admin pass
	TenantID string
}

// ServerOptions change how StartServer builds the control plane.
type ServerOptions struct {
	Store      store.Store      // default: SQLite in the test's temporary directory
	Now        func() time.Time // default time.Now
	SigningAlg string           // default ES256
	Log        io.Writer        // default: discarded
}

// StartServer starts a control plane for the test and stops it in t.Cleanup.
func StartServer(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Data: t.TempDir()}
	s.URL = "https://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	s.Store = opts.Store
	if s.Store == nil {
		if s.Store, err = sqlite.Open(filepath.Join(s.Data, "latch.db")); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { s.Store.Close() })
	tlsConf := s.startTLS(t)
	s.bootstrap(t, opts)
	srv := &http.Server{Handler: s.API.Handler(), TLSConfig: tlsConf, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)} // refused handshakes are what some tests are about
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return s
}

// startTLS makes the local CA and server certificate as `latch serve` does and returns the
// server's TLS configuration; s.Client trusts the CA.
func (s *Server) startTLS(t testing.TB) *tls.Config {
	res, err := tlsca.Ensure(filepath.Join(s.Data, "tls"), "localhost", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.CAFile = res.Files.CA
	kp, err := tlsca.LoadKeypair(res.Files.Cert, res.Files.Key)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	s.Client = &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return kp.ServerConfig()
}

func (s *Server) bootstrap(t testing.TB, opts ServerOptions) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var logw io.Writer = io.Discard
	if opts.Log != nil {
		logw = opts.Log
	}
	s.Tokens = token.NewService(s.Store, token.Config{Now: now, Alg: s.tenantAlg})
	res, err := bootstrap.Run(context.Background(), s.Store, s.Tokens, bootstrap.Options{
		Dir: s.Data, URL: s.URL, Domain: "contoso.test", SigningAlg: opts.SigningAlg, CAFile: s.CAFile, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if s.Boot, err = bootstrap.ReadFile(s.Data); err != nil {
		t.Fatal(err)
	}
	s.TenantID = res.Tenant.ID
	s.API = &httpapi.Server{Store: s.Store, Tokens: s.Tokens, Secrets: authn.NewSecretVerifier(now),
		Log: slog.New(slog.NewJSONHandler(logw, nil)), Now: now, URL: s.URL, HomeTenantID: res.Tenant.ID}
}

func (s *Server) tenantAlg(ctx context.Context, tenantID string) (string, error) {
	t, err := s.Store.GetTenant(ctx, tenantID)
	return t.SigningAlg, err
}

// Authority is the tenant's Entra-shaped authority URL, as MSAL takes it.
func (s *Server) Authority() string { return s.URL + "/" + s.TenantID }

// ARMScope and GraphScope are the .default scopes of the server's own APIs, as az asks.
func (s *Server) ARMScope() string   { return s.URL + "/arm//.default" }
func (s *Server) GraphScope() string { return s.URL + "//.default" }

// CreateUser adds an enabled user name@contoso.test with password straight to the store.
func CreateUser(t testing.TB, s *Server, name, password string) directory.User {
	t.Helper()
	hash, err := authn.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u := directory.User{ID: uuid.NewString(), TenantID: s.TenantID, UserPrincipalName: name + "@contoso.test",
		DisplayName: name, AccountEnabled: true, Password: directory.Password{Hash: hash, LastChanged: time.Now()}}
	if err := s.Store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}
