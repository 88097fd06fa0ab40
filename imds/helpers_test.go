package imds

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// testJWT is what the fake control plane mints: a fixed token, since this package never reads
// one (header {"alg":"none"} is fine: nothing here verifies it).
const testJWT = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tLyIsIm9pZCI6IjExMTExMTExLTExMTEtMTExMS0xMTExLTExMTExMTExMTExMSJ9.c2ln"

var (
	systemID = Identity{ClientID: "aaaaaaaa-0000-4000-8000-000000000001", ObjectID: "11111111-1111-1111-1111-111111111111",
		TenantID: "abd8daee-d393-4239-9377-883adda3d40f", SystemAssigned: true}
	userID = Identity{ClientID: "bbbbbbbb-0000-4000-8000-000000000002", ObjectID: "22222222-2222-2222-2222-222222222222",
		ResourceID: "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app",
		TenantID:   "abd8daee-d393-4239-9377-883adda3d40f"}
	t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeSource plays the agent: fixed instance and identities, and tokens from mint (by default
// the fixed JWT, valid an hour from the clock).
type fakeSource struct {
	now  func() time.Time
	inst Instance
	ids  []Identity
	mint func(ctx context.Context, id Identity, resource string, bypass bool) (Token, error)

	mu    sync.Mutex
	calls map[string]int // per object id + " " + resource
}

func newFakeSource(now func() time.Time, ids ...Identity) *fakeSource {
	return &fakeSource{now: now, inst: testInstance(), ids: ids, calls: map[string]int{}}
}

func (f *fakeSource) Instance(context.Context) (Instance, error)     { return f.inst, nil }
func (f *fakeSource) Identities(context.Context) ([]Identity, error) { return f.ids, nil }

func (f *fakeSource) Token(ctx context.Context, id Identity, resource string, bypass bool) (Token, error) {
	f.mu.Lock()
	f.calls[id.ObjectID+" "+resource]++
	f.mu.Unlock()
	if f.mint != nil {
		return f.mint(ctx, id, resource, bypass)
	}
	return Token{AccessToken: testJWT, ExpiresOn: f.now().Add(time.Hour)}, nil
}

func (f *fakeSource) callCount(id Identity, resource string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id.ObjectID+" "+resource]
}

func testInstance() Instance {
	return Instance{
		Compute: Compute{Location: "westus", Name: "vm1", OSType: "Linux", VMID: "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
			VMSize: "Standard_D2s_v5", ResourceGroupName: "rg1", SubscriptionID: "8d10da13-8125-4ba9-a717-bf7490507b3d",
			ResourceID: "/subscriptions/8d10da13-8125-4ba9-a717-bf7490507b3d/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1",
			Tags:       []Tag{{"env", "test"}, {"team", "id"}}, UserData: "aGVsbG8=",
			OSProfile: OSProfile{AdminUsername: "azureuser", ComputerName: "vm1", DisablePasswordAuthentication: "true"}},
		Network: Network{Interfaces: []Interface{{MACAddress: "0011AAFFBB22",
			IPv4:    []IPAddress{{Private: "10.144.133.132"}},
			Subnets: []Subnet{{Address: "10.144.133.128", Prefix: "26"}}}}},
	}
}

// newTestServer returns a server on a fake clock with the given identities.
func newTestServer(t testing.TB, cfg Config, ids ...Identity) (*Server, *fakeSource, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: t0}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.IdentityHeader == "" {
		cfg.IdentityHeader = "test-identity-header-secret"
	}
	if cfg.LocalAddrs == nil {
		cfg.LocalAddrs = func() ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("10.0.0.4"), linkLocal}, nil
		}
	}
	src := newFakeSource(cfg.Now, ids...)
	return New(src, cfg), src, clock
}

// mod changes a test request.
type mod func(*http.Request)

func header(k, v string) mod     { return func(r *http.Request) { r.Header.Set(k, v) } }
func noHeader(k string) mod      { return func(r *http.Request) { r.Header.Del(k) } }
func host(h string) mod          { return func(r *http.Request) { r.Host = h } }
func method(m string) mod        { return func(r *http.Request) { r.Method = m } }
func remote(addr string) mod     { return func(r *http.Request) { r.RemoteAddr = addr } }
func onListener(addr string) mod { return func(r *http.Request) { withLocalAddr(r, addr) } }

func withLocalAddr(r *http.Request, addr string) *http.Request {
	ap := netip.MustParseAddrPort(addr)
	*r = *r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.TCPAddrFromAddrPort(ap)))
	return r
}

// serve sends one request as a local program would (loopback, Metadata: true, IMDS's Host),
// changed by mods.
func serve(s *Server, target string, mods ...mod) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://169.254.169.254"+target, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Metadata", "true")
	for _, m := range mods {
		m(r)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

// errorBody decodes an error answer of either shape.
func errorBody(t testing.TB, w *httptest.ResponseRecorder) (code, desc string) {
	t.Helper()
	var b struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, w.Body.String())
	}
	return b.Error, b.Description
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

const tokenPath = "/metadata/identity/oauth2/token"

// both is a machine with a system-assigned and a user-assigned identity.
var both = []Identity{systemID, userID}

type contextT = context.Context

func ioNopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
