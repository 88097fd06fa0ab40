package imds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// LinkLocalAddr is where Azure's clients look for the service; they cannot be told otherwise.
const LinkLocalAddr = "169.254.169.254:80"

// ListenLinkLocal listens on 169.254.169.254:80. It fails when the address is not assigned
// to an interface of the machine (the agent adds it to lo) or when the process may not bind
// port 80; the agent then serves on loopback only and says so.
func (s *Server) ListenLinkLocal() (net.Listener, error) {
	ln, err := net.Listen("tcp4", LinkLocalAddr)
	if err != nil {
		return nil, fmt.Errorf("imds: listening on %s: %w", LinkLocalAddr, err)
	}
	return ln, nil
}

// ListenLoopback listens on addr (the --imds-addr flag, e.g. "127.0.0.1:40342"; port 0 picks
// one), which must be a loopback address, and adds its host to the Host allowlist.
func (s *Server) ListenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("imds: loopback address %q: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("imds: %q is not a loopback address: the service answers only this machine", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("imds: listening on %s: %w", addr, err)
	}
	s.hosts.add(ln.Addr().String())
	return ln, nil
}

// Serve answers on every listener until ctx ends, then shuts down gracefully (in-flight
// requests get up to 5 s). It returns the first error a listener fails with, or nil.
func (s *Server) Serve(ctx context.Context, listeners ...net.Listener) error {
	srv := s.httpServer()
	errc := make(chan error, len(listeners))
	var wg sync.WaitGroup
	for _, ln := range listeners {
		wg.Go(func() { errc <- srv.Serve(ln) })
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// httpServer bounds what a local caller can hold: headers, reading, writing (long enough for
// one call to the control plane) and idle keep-alive connections.
func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.cfg.TokenTimeout + 10*time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}
