package imds

import (
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// linkLocal is the address every Azure client dials.
var linkLocal = netip.MustParseAddr("169.254.169.254")

// isLocal reports whether the request comes from a program on this machine (see doc.go).
func (s *Server) isLocal(r *http.Request) bool {
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := remote.Addr().Unmap()
	if ip.IsLoopback() {
		return true
	}
	if !arrivedOn(r, linkLocal) {
		return false
	}
	return s.own.has(ip)
}

// arrivedOn reports whether the connection was accepted on a listener bound to addr.
func arrivedOn(r *http.Request, addr netip.Addr) bool {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ap, err := netip.ParseAddrPort(la.String())
	return err == nil && ap.Addr().Unmap() == addr
}

// ownAddrs caches the machine's addresses for a few seconds: interfaces change rarely, and
// listing them on every request would cost more than the request.
type ownAddrs struct {
	list func() ([]netip.Addr, error)
	now  func() time.Time

	mu      sync.Mutex
	addrs   map[netip.Addr]bool
	fetched time.Time
}

const ownAddrsTTL = 5 * time.Second

func (o *ownAddrs) has(ip netip.Addr) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if now := o.now(); o.addrs == nil || now.Sub(o.fetched) > ownAddrsTTL || now.Before(o.fetched) {
		o.refresh(now)
	}
	return o.addrs[ip]
}

// refresh keeps the old list when listing fails, failing closed only when there was none.
func (o *ownAddrs) refresh(now time.Time) {
	list, err := o.list()
	if err != nil && o.addrs != nil {
		return
	}
	o.addrs = make(map[netip.Addr]bool, len(list))
	for _, a := range list {
		o.addrs[a.Unmap()] = true
	}
	o.fetched = now
}

// interfaceAddrs lists the addresses of the machine's interfaces.
func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

// hostSet is the Host header allowlist. A browser tricked by DNS rebinding sends the
// attacker's name as Host; only the names below reach the handlers. Every request reads it
// and a listener's start adds to it, so a reader loads the current set without a lock and a
// writer replaces it with a copy.
type hostSet struct {
	mu    sync.Mutex // serializes writers
	names atomic.Pointer[map[string]bool]
}

func newHostSet(extra []string) *hostSet {
	h := &hostSet{}
	h.names.Store(&map[string]bool{})
	for _, n := range append([]string{linkLocal.String(), "localhost", "127.0.0.1", "::1"}, extra...) {
		h.add(n)
	}
	return h
}

func (h *hostSet) add(host string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := maps.Clone(*h.names.Load())
	names[hostOnly(host)] = true
	h.names.Store(&names)
}

// allows reports whether the Host header (with or without a port) is served.
func (h *hostSet) allows(hostHeader string) bool {
	name := hostOnly(hostHeader)
	return name != "" && (*h.names.Load())[name]
}

// hostOnly drops a port and brackets and lower-cases what is left.
func hostOnly(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}
