package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/access"
	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/bootstrap"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/tlsca"
	"github.com/latchsh/latch/token"
)

// fanOutAgentsDefault is how many simulated agents BenchmarkGoalStateFanOut runs; the
// environment variable LATCH_BENCH_AGENTS changes it.
const fanOutAgentsDefault = 10000

// fanOutSpareFiles is what the process needs open besides the agents' connections.
const fanOutSpareFiles = 192

// fanOutWait is the wait each long-poll asks for, as the agent does (DefaultGoalStateWait).
const fanOutWait = 55

// BenchmarkGoalStateFanOut measures how long one change takes to reach every machine of a
// tenant that follows its goal state by long-poll.
//
// The control plane runs in this process as `latch serve` runs it (SQLite, its TLS, the real
// httpapi handler on 127.0.0.1). N VMs, each with the login extension, are made by copying one
// VM and its extension made through the resource manager straight into the store, and N
// machines are recorded with their own P-256 keys: onboarding 10,000 machines through the API
// would take minutes and is not what is measured. Every goal-state request goes over real
// HTTPS with a fresh machine proof signed by the machine's key, one keep-alive connection per
// agent, as N agents on N machines would.
//
// Each round (LATCH_BENCH_ROUNDS of them, default 3; b.N is not used, so run it with
// -benchtime 1x: setting up 10,000 machines is the slow part) waits until all N long-polls are parked in the server, then
// assigns (or, the next round, removes) Virtual Machine User Login for one user at the
// subscription, which changes every VM's login list and so every goal state's version, and
// measures for each agent the time from the start of that request to the moment it has read
// the new goal state. The agents and the server share this machine's cores.
func BenchmarkGoalStateFanOut(b *testing.B) {
	n := fanOutAgents(b)
	// Both ends of every agent's connection are in this process: two descriptors each, and a
	// few for the listener, the database and the Go runtime.
	raiseFileLimit(b, uint64(2*n+fanOutSpareFiles))
	f := newFanOut(b, n)
	start := time.Now()
	f.startAgents(b)
	b.Logf("%d agents: first goal states read (one TLS connection each) in %v", n, time.Since(start).Round(time.Millisecond))
	var all []time.Duration
	var worst time.Duration
	b.ResetTimer()
	for i := range fanOutRounds(b) {
		lat, change := f.round(b, i%2 == 0)
		all = append(all, lat...)
		worst = max(worst, lat[len(lat)-1])
		b.Logf("round %d: %d agents, change request %v, p50 %v, p99 %v, last %v", i+1, n, change.Round(time.Millisecond),
			percentile(lat, 50).Round(time.Millisecond), percentile(lat, 99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	}
	b.StopTimer()
	slices.Sort(all)
	b.ReportMetric(float64(n), "agents")
	b.ReportMetric(millis(percentile(all, 50)), "p50-ms")
	b.ReportMetric(millis(percentile(all, 99)), "p99-ms")
	b.ReportMetric(millis(worst), "max-ms")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil { // Maxrss is in KiB on Linux
		b.ReportMetric(float64(ru.Maxrss)/1024, "max-rss-MiB")
	}
	f.stop()
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fanOutAgents reads LATCH_BENCH_AGENTS.
func fanOutAgents(b *testing.B) int { return envCount(b, "LATCH_BENCH_AGENTS", fanOutAgentsDefault) }

// fanOutRounds reads LATCH_BENCH_ROUNDS.
func fanOutRounds(b *testing.B) int { return envCount(b, "LATCH_BENCH_ROUNDS", 3) }

// envCount reads a positive whole number from the environment, def when unset.
func envCount(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// raiseFileLimit lets the process hold both ends of every connection. Raising the hard limit
// needs root (CAP_SYS_RESOURCE); without it the soft limit goes as high as the hard one.
func raiseFileLimit(b *testing.B, want uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur >= want {
		return
	}
	next := syscall.Rlimit{Cur: want, Max: max(lim.Max, want)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		b.Fatalf("open-file limit %d (hard), need %d for the agents' connections (%v): raising the hard limit "+
			"needs CAP_SYS_RESOURCE; lower LATCH_BENCH_AGENTS to %d or less", lim.Max, want, err, (lim.Max-fanOutSpareFiles)/2)
	}
}

// fanOut is the control plane, its administrator, and the simulated agents.
type fanOut struct {
	base, tenantID, sub string
	userID              string // the user whose role assignment is the change
	admin               *http.Client
	adminTok            string
	roots               *x509.CertPool
	parked              atomic.Int64 // goal-state long-polls inside the server's handler
	agents              []*fanAgent

	// The round in progress: agents compare what they read with want (users allowed to log
	// in), and note when they saw it.
	want      atomic.Int64
	delivered atomic.Int64
	failures  failures
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// fanAgent is one simulated machine: its identity, key, connection and what it last applied.
type fanAgent struct {
	id, vm  string
	key     *ecdsa.PrivateKey
	client  *http.Client
	version string
	seen    atomic.Int64 // UnixNano when the agent read the round's goal state
}

func newFanOut(b *testing.B, n int) *fanOut {
	ctx := context.Background()
	dir := b.TempDir()
	st := openSQLite(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	f := &fanOut{base: "https://" + ln.Addr().String()}
	certs, err := tlsca.Ensure(filepath.Join(dir, "tls"), "127.0.0.1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	tokens := token.NewService(st, token.Config{})
	res, err := bootstrap.Run(ctx, st, tokens, bootstrap.Options{Dir: dir, URL: f.base, Domain: "bench.test", CAFile: certs.CA})
	if err != nil {
		b.Fatal(err)
	}
	f.tenantID, f.sub = res.Tenant.ID, res.SubscriptionID
	api := &httpapi.Server{Store: st, Tokens: tokens, Secrets: authn.NewSecretVerifier(time.Now),
		Log: slog.New(slog.DiscardHandler), Now: time.Now, URL: f.base, HomeTenantID: res.Tenant.ID}
	serve(b, ln, f.countParked(api.Handler()), certs.Files, new(atomic.Int64))
	f.admin = newClient(b, certs.CA)
	f.roots = f.admin.Transport.(*http.Transport).TLSClientConfig.RootCAs
	creds, err := bootstrap.ReadFile(dir)
	if err != nil {
		b.Fatal(err)
	}
	f.adminTok = f.armToken(b, creds.Owner.AppID, creds.Owner.Secret)
	f.makeMachines(b, st, n)
	return f
}

// countParked counts the long-polls (wait > 0) the handler is serving.
func (f *fanOut) countParked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == machineapi.PathGoalState && r.URL.Query().Get("wait") != "0" {
			f.parked.Add(1)
			defer f.parked.Add(-1)
		}
		h.ServeHTTP(w, r)
	})
}

// armToken gets a resource-manager token for the owner application (client credentials).
func (f *fanOut) armToken(b *testing.B, appID, secret string) string {
	form := "grant_type=client_credentials&client_id=" + appID + "&client_secret=" + secret +
		"&scope=" + strings.ReplaceAll(f.base, ":", "%3A") + "%2Farm%2F%2F.default"
	resp, err := f.admin.Post(f.base+"/"+f.tenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		b.Fatalf("ARM token: %d %.300s", resp.StatusCode, body)
	}
	return tr.AccessToken
}

// arm sends one resource-manager request as the administrator and fails b unless the answer
// is one of ok.
func (f *fanOut) arm(b *testing.B, method, path string, body any, ok ...int) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, f.base+path, bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.adminTok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.admin.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if !slices.Contains(ok, resp.StatusCode) {
		b.Fatalf("%s %s: %d %.500s", method, path, resp.StatusCode, got)
	}
}

// makeMachines creates one VM and its login extension through the resource manager, copies
// both n-1 times into the store, records a machine with its own key for each VM, and makes
// the user whose role assignment will be the change.
func (f *fanOut) makeMachines(b *testing.B, st store.Store, n int) {
	ctx := context.Background()
	rg := "/subscriptions/" + f.sub + "/resourceGroups/fanout"
	f.arm(b, "PUT", rg+"?api-version=2022-09-01", map[string]any{"location": "westus"}, 201, 200)
	vm0 := rg + "/providers/Microsoft.Compute/virtualMachines/vm0"
	f.arm(b, "PUT", vm0+"?api-version=2022-11-01", fanOutVMBody(), 201, 200)
	f.arm(b, "PUT", vm0+"/extensions/AADSSHLoginForLinux?api-version=2022-11-01", map[string]any{"location": "westus",
		"properties": map[string]any{"publisher": resource.PublisherAzureAD, "type": resource.ExtAADSSHLinux, "typeHandlerVersion": "1.0"}}, 201, 200)
	vm, err := st.GetResource(ctx, f.tenantID, vm0)
	if err != nil {
		b.Fatal(err)
	}
	exts, err := st.ListResources(ctx, f.tenantID, vm0, resource.TypeVMExtension)
	if err != nil || len(exts) != 1 {
		b.Fatalf("the VM's extensions: %v %v", exts, err)
	}
	for i := range n {
		a := &fanAgent{id: uuid.NewString(), vm: vm.ID}
		if i > 0 {
			a.vm = f.copyVM(b, st, vm, exts[0], i)
		}
		if a.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			b.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&a.key.PublicKey)
		if err := st.CreateMachine(ctx, store.Machine{TenantID: f.tenantID, ID: a.id, ResourceID: a.vm, PublicKey: der}); err != nil {
			b.Fatal(err)
		}
		f.agents = append(f.agents, a)
	}
	f.userID = uuid.NewString()
	if err := st.CreateUser(ctx, directory.User{ID: f.userID, TenantID: f.tenantID, UserPrincipalName: "fanout@bench.test",
		DisplayName: "Fan Out", AccountEnabled: true, Created: time.Now()}); err != nil {
		b.Fatal(err)
	}
}

// copyVM stores vm and its extension again as VM number i.
func (f *fanOut) copyVM(b *testing.B, st store.Store, vm, ext resource.Resource, i int) string {
	ctx := context.Background()
	name := fmt.Sprintf("vm%d", i)
	id := strings.TrimSuffix(vm.ID, vm.Name) + name
	c := vm
	c.ID, c.Name, c.Identity, c.Version = id, name, nil, 0 // the identity's principal is vm0's
	if err := st.CreateResource(ctx, c); err != nil {
		b.Fatalf("copying the VM: %v", err)
	}
	e := ext
	e.ID, e.Version = id+strings.TrimPrefix(ext.ID, vm.ID), 0
	if err := st.CreateResource(ctx, e); err != nil {
		b.Fatalf("copying the extension: %v", err)
	}
	return id
}

func fanOutVMBody() map[string]any {
	return map[string]any{"location": "westus", "identity": map[string]any{"type": "SystemAssigned"}, "properties": map[string]any{
		"hardwareProfile": map[string]any{"vmSize": "Standard_B1s"},
		"storageProfile": map[string]any{"imageReference": map[string]any{"publisher": "Canonical",
			"offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts", "version": "latest"},
			"osDisk": map[string]any{"createOption": "FromImage", "osType": "Linux"}},
		"osProfile":      map[string]any{"computerName": "vm0", "adminUsername": "azureuser", "adminPassword": "yourpassword-Secret1"},
		"networkProfile": map[string]any{"networkInterfaces": []any{}}}}
}

// startAgents reads every machine's current goal state (one request each, a few at a time,
// which also opens its connection) and then starts every agent's long-poll loop.
func (f *fanOut) startAgents(b *testing.B) {
	f.ctx, f.cancel = context.WithCancel(context.Background())
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, a := range f.agents {
		a.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.roots, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 1, DisableCompression: true, IdleConnTimeout: 5 * time.Minute}}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			status, gs, err := a.poll(f, "", 0)
			if err != nil || status != http.StatusOK || gs.Login == nil {
				f.failures.note(fmt.Errorf("first goal state of %s: %d %v", a.vm, status, err))
				return
			}
			a.version = gs.Version
		})
	}
	wg.Wait()
	if k, first := f.failures.result(); k > 0 {
		b.Fatalf("%d agents could not read their goal state; the first: %v", k, first)
	}
	for _, a := range f.agents {
		f.wg.Go(func() { a.follow(f) })
	}
}

// follow is an agent's loop: wait for a goal state newer than the one applied, note when the
// expected one arrives, ask again.
func (a *fanAgent) follow(f *fanOut) {
	for f.ctx.Err() == nil {
		status, gs, err := a.poll(f, a.version, fanOutWait)
		switch {
		case f.ctx.Err() != nil:
			return
		case err != nil:
			f.failures.note(fmt.Errorf("long-poll of %s: %w", a.vm, err))
			time.Sleep(time.Second) // as an agent backs off
		case status == http.StatusNotModified:
		case status != http.StatusOK || gs.Login == nil:
			f.failures.note(fmt.Errorf("long-poll of %s: status %d", a.vm, status))
			time.Sleep(time.Second)
		default:
			a.version = gs.Version
			if int64(len(gs.Login.Users)) != f.want.Load() {
				f.failures.note(fmt.Errorf("%s got a goal state with %d login users, want %d", a.vm, len(gs.Login.Users), f.want.Load()))
				continue
			}
			a.seen.Store(time.Now().UnixNano())
			f.delivered.Add(1)
		}
	}
}

// poll asks for the goal state with a fresh proof.
func (a *fanAgent) poll(f *fanOut, version string, wait int) (int, machineapi.GoalState, error) {
	var gs machineapi.GoalState
	proof, err := a.proof(f)
	if err != nil {
		return 0, gs, err
	}
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet,
		f.base+machineapi.PathGoalState+"?version="+version+"&wait="+strconv.Itoa(wait), nil)
	if err != nil {
		return 0, gs, err
	}
	req.Header.Set("Authorization", "MachineProof "+proof)
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, gs, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(body, &gs)
	}
	return resp.StatusCode, gs, err
}

// proof is a machine proof as the agent signs it: ES256 over the machine's claims, addressed
// to the server's machine API, with a new jti (the server accepts each proof once).
func (a *fanAgent) proof(f *fanOut) (string, error) {
	now := time.Now()
	claims, err := json.Marshal(map[string]any{"iss": a.id, "sub": a.id, "tid": f.tenantID, "aud": f.base + "/machines",
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": uuid.NewString()})
	if err != nil {
		return "", err
	}
	return signProof(a.key, claims)
}

// round waits until every agent's long-poll is parked in the server, makes the change
// (assign when add, else remove), and returns the agents' delivery times, sorted, and how
// long the change request itself took.
func (f *fanOut) round(b *testing.B, add bool) ([]time.Duration, time.Duration) {
	f.waitParked(b)
	want := int64(0)
	if add {
		want = 1
	}
	f.want.Store(want)
	f.delivered.Store(0)
	for _, a := range f.agents {
		a.seen.Store(0)
	}
	start := time.Now()
	f.changeRole(b, add)
	change := time.Since(start)
	deadline := time.Now().Add(5 * time.Minute)
	for f.delivered.Load() < int64(len(f.agents)) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d agents got the change within 5 minutes", f.delivered.Load(), len(f.agents))
		}
		if k, first := f.failures.result(); k > 0 {
			b.Fatalf("%d agent failures; the first: %v", k, first)
		}
		time.Sleep(10 * time.Millisecond)
	}
	lat := make([]time.Duration, 0, len(f.agents))
	for _, a := range f.agents {
		lat = append(lat, time.Unix(0, a.seen.Load()).Sub(start))
	}
	slices.Sort(lat)
	return lat, change
}

// waitParked waits until all agents' long-polls are in the server's handler and the count
// has held for a second, so that the round starts with every agent waiting.
func (f *fanOut) waitParked(b *testing.B) {
	n := int64(len(f.agents))
	deadline := time.Now().Add(10 * time.Minute)
	var held time.Time
	for {
		if k, first := f.failures.result(); k > 0 {
			b.Fatalf("%d agent failures; the first: %v", k, first)
		}
		switch {
		case f.parked.Load() < n:
			held = time.Time{}
		case held.IsZero():
			held = time.Now()
		case time.Since(held) >= time.Second:
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d long-polls parked after 10 minutes", f.parked.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// changeRole assigns Virtual Machine User Login to the user at the subscription, or removes
// that assignment: one request that changes every VM's login list.
func (f *fanOut) changeRole(b *testing.B, add bool) {
	path := "/subscriptions/" + f.sub + "/providers/Microsoft.Authorization/roleAssignments/" + fanOutAssignment + "?api-version=2022-04-01"
	if !add {
		f.arm(b, "DELETE", path, nil, 200, 204)
		return
	}
	f.arm(b, "PUT", path, map[string]any{"properties": map[string]any{
		"roleDefinitionId": "/subscriptions/" + f.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + access.VMUserLoginRoleID,
		"principalId":      f.userID}}, 201, 200)
}

// fanOutAssignment is the id of the role assignment the rounds add and remove.
const fanOutAssignment = "0f0a0a0a-1b1b-4c2c-8d3d-4e4e4e4e4e4e"

func (f *fanOut) stop() {
	f.cancel()
	f.wg.Wait()
}

// signProof makes a compact JWS with header {"alg":"ES256","typ":"JWT"} over claims.
func signProof(key *ecdsa.PrivateKey, claims []byte) (string, error) {
	in := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
