package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgMissing is what a test says when PostgreSQL is not installed.
const pgMissing = "PostgreSQL server binaries (initdb, postgres) not found under /usr/lib/postgresql/*/bin " +
	"or on PATH; run the project's install script, which installs Debian's postgresql package"

// postgresServer is one cluster in a temporary directory, serving 127.0.0.1:port.
type postgresServer struct {
	dir  string
	port int
	cmd  *exec.Cmd
	exit chan error // receives the server's exit status once
}

var shared struct {
	mu  sync.Mutex
	srv *postgresServer
	err error // a failed start is not retried: every later test would fail the same way
}

// StartPostgres returns the URL of a new, empty database on a PostgreSQL server private to this
// test binary. The first call starts the server (initdb in a temporary directory, listening only
// on 127.0.0.1 on a free port, fsync off); later calls reuse it. The database is dropped when t
// ends. Call StopPostgres from TestMain to stop the server; if that is forgotten, the server
// still shuts down when the test binary exits.
//
// When the PostgreSQL binaries are missing the test is skipped, or failed when the environment
// variable CI is set, with a message saying how to install them.
func StartPostgres(t testing.TB) (url string) {
	t.Helper()
	srv, err := sharedPostgres()
	if errors.Is(err, errNoPostgres) {
		if os.Getenv("CI") != "" {
			t.Fatal(pgMissing)
		}
		t.Skip(pgMissing)
	}
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	name := "t_" + randomHex(8)
	if err := srv.admin(t.Context(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends sessions a test left open, so a leaked pool cannot keep the database alive.
		if err := srv.admin(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	return srv.url(name)
}

// StopPostgres stops the server StartPostgres started and removes its files. It is safe to call
// when none was started, and more than once.
func StopPostgres() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		shared.srv.stop()
		shared.srv = nil
	}
}

var errNoPostgres = errors.New("postgresql binaries not found")

func sharedPostgres() (*postgresServer, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = startPostgres()
	}
	return shared.srv, shared.err
}

// findPostgresBin returns the directory holding initdb and postgres: the newest Debian
// installation, else whatever PATH offers.
func findPostgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", errNoPostgres
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func startPostgres() (*postgresServer, error) {
	bin, err := findPostgresBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "latch-postgres-")
	if err != nil {
		return nil, err
	}
	srv := &postgresServer{dir: dir}
	if err := srv.initdb(bin); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := srv.start(bin); err != nil {
		srv.stop()
		return nil, err
	}
	return srv, nil
}

// runAs returns the credentials to run PostgreSQL with: initdb and postgres refuse to run as
// root, so as root they run as the "postgres" account, which must own the directory.
func runAs(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres account to run the server as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (s *postgresServer) command(bin, name string, args ...string) (*exec.Cmd, error) {
	cred, err := runAs(s.dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Dir = s.dir
	// Pdeathsig: a test binary that dies without calling StopPostgres takes the server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	return cmd, nil
}

func (s *postgresServer) initdb(bin string) error {
	cmd, err := s.command(bin, "initdb", "-D", filepath.Join(s.dir, "data"), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return err
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

func (s *postgresServer) start(bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.port = port
	cmd, err := s.command(bin, "postgres", "-D", filepath.Join(s.dir, "data"),
		"-k", s.dir, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "logging_collector=off")
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(s.dir, "postgres.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	s.cmd, s.exit = cmd, make(chan error, 1)
	go func() { s.exit <- cmd.Wait(); logf.Close() }()
	return s.waitReady(60 * time.Second)
}

// waitReady polls until the server accepts a connection, giving up early if it exits.
func (s *postgresServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.url("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case werr := <-s.exit:
			s.exit <- werr
			return fmt.Errorf("postgres exited (%v); its log:\n%s", werr, s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %v: %v; its log:\n%s", limit, err, s.logTail())
		}
	}
}

func (s *postgresServer) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return strings.TrimSpace(string(b))
}

func (s *postgresServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// admin runs one statement on the maintenance database.
func (s *postgresServer) admin(ctx context.Context, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// stop asks for a fast shutdown (SIGINT: abort sessions, checkpoint, exit), kills the server if
// it takes too long, and removes the directory.
func (s *postgresServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exit:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exit
		}
	}
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
