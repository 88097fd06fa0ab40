package agent

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/imds"
	"github.com/latchsh/latch/machineapi"
)

func TestReadStatus(t *testing.T) {
	t.Run("fail/never-connected", func(t *testing.T) {
		if _, err := ReadStatus(t.TempDir()); err == nil || !strings.Contains(err.Error(), "latch agent connect") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("fail/damaged-progress", func(t *testing.T) {
		r := newRig(t, newFakeCP(t))
		os.WriteFile(filepath.Join(r.dir, progressFile), []byte("{"), 0o600)
		if _, err := ReadStatus(r.dir); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("ok/not-joined", func(t *testing.T) {
		r := newRig(t, newFakeCP(t))
		s, err := ReadStatus(r.dir)
		var b bytes.Buffer
		s.WriteText(&b)
		if err != nil || s.Device.DirectoryJoined || !strings.Contains(b.String(), "DirectoryJoined : NO") {
			t.Fatalf("%v\n%s", err, b.String())
		}
	})
	t.Run("ok/joined", func(t *testing.T) {
		cp := newFakeCP(t)
		cp.gs.Extensions = []machineapi.Extension{linuxExtension("g1")}
		r := newRig(t, cp)
		step(t, r.follower(t, &fakeLogin{}, machineapi.Endpoints{}))
		s, err := ReadStatus(r.dir)
		if err != nil {
			t.Fatal(err)
		}
		d := s.Device
		if !d.DirectoryJoined || !d.AzureAdJoined || d.DeviceID != "device-1" || d.TenantID != "tenant-1" ||
			d.KeySignTest != "PASSED" || !strings.HasPrefix(d.KeyProvider, "software") || !d.ValidTo.After(time.Now()) {
			t.Fatalf("device %+v", d)
		}
		if s.Machine.MachineID != "m1" || s.GoalState.Version != "v1" || len(s.GoalState.Extensions) != 1 ||
			s.GoalState.Extensions[0].ProvisioningState != machineapi.ProvisioningSucceeded {
			t.Fatalf("status %+v", s)
		}
		var b bytes.Buffer
		s.WriteText(&b)
		for _, want := range []string{"Device State", "AzureAdJoined : YES", "DeviceId : device-1", "KeyProvider : software",
			"DeviceCertificateValidity : [ ", "Goal State", "AADSSHLoginForLinux : Succeeded (generation g1, code 0)", "Errors"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("status text lacks %q:\n%s", want, b.String())
			}
		}
	})
}

func TestDoctor(t *testing.T) {
	cases := []struct {
		name     string
		prepare  func(cp *fakeCP, r *rig)
		imdsAddr func(r *rig) string
		lookup   func(context.Context, string) ([]string, error)
		fail     []string // names of the checks that must fail, by prefix
		fix      string
	}{
		{name: "fail/metadata-service-down", imdsAddr: func(*rig) string { return "127.0.0.1:" + closedPort(t) },
			fail: []string{"IMDS instance", "IMDS identity", "IMDS token"}, fix: "Start the agent"},
		{name: "fail/no-identity", prepare: func(cp *fakeCP, _ *rig) { cp.identity = nil },
			fail: []string{"IMDS identity", "IMDS token"}, fix: "latch vm identity assign"},
		{name: "fail/token-of-another-identity", prepare: func(cp *fakeCP, _ *rig) {
			cp.gs.Identity = &machineapi.Identity{PrincipalID: "someone-else"}
		}, fail: []string{"IMDS token"}, fix: "another identity"},
		{name: "fail/registration-unreachable", prepare: func(_ *fakeCP, r *rig) {
			os.WriteFile(filepath.Join(r.dir, endpointsFile), []byte(`{"registration":"http://127.0.0.1:`+closedPort(t)+`"}`), 0o600)
		}, fail: []string{"reach Registration"}, fix: "firewalls"},
		{name: "fail/name-does-not-resolve", prepare: func(_ *fakeCP, r *rig) {
			os.WriteFile(filepath.Join(r.dir, endpointsFile), []byte(`{"access":"https://pas.invalid"}`), 0o600)
		}, lookup: func(_ context.Context, h string) ([]string, error) {
			return nil, &netDNSError{h}
		}, fail: []string{"reach Access", "resolve pas.invalid"}, fix: "nslookup pas.invalid 208.67.222.222"},
		{name: "ok/all-checks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cp := newFakeCP(t)
			r := newRig(t, cp)
			if c.prepare != nil {
				c.prepare(cp, r)
			}
			step(t, r.follower(t, &fakeLogin{}, machineapi.Endpoints{}))
			o := DoctorOptions{StateDir: r.dir, IMDSAddr: strings.TrimPrefix(r.imds, "http://"), HTTPClient: loopbackOnly(cp), LookupHost: c.lookup}
			if c.imdsAddr != nil {
				o.IMDSAddr = c.imdsAddr(r)
			}
			checks, err := Doctor(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			failed, _ := WriteChecks(&b, checks)
			var failedNames []string
			for _, ch := range checks {
				if !ch.OK {
					failedNames = append(failedNames, ch.Name)
				}
			}
			if failed != len(c.fail) || len(failedNames) != len(c.fail) {
				t.Fatalf("failed %v, want %v:\n%s", failedNames, c.fail, b.String())
			}
			for i, want := range c.fail {
				if !strings.HasPrefix(failedNames[i], want) {
					t.Errorf("failure %d is %q, want %q", i, failedNames[i], want)
				}
			}
			if !strings.Contains(b.String(), c.fix) {
				t.Errorf("output lacks %q:\n%s", c.fix, b.String())
			}
			if c.fail == nil && (len(checks) != 9 || !strings.Contains(b.String(), "SKIP resolve 127.0.0.1")) {
				t.Fatalf("checks:\n%s", b.String())
			}
		})
	}
}

// loopbackOnly is the stand-in's client, refusing to dial anything but an IP address, so
// no name is ever looked up off the machine.
func loopbackOnly(cp *fakeCP) *http.Client {
	tr := cp.srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if net.ParseIP(host) == nil {
			return nil, &net.DNSError{Err: "no such host (test)", Name: host, IsNotFound: true}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr}
}

type netDNSError struct{ host string }

func (e *netDNSError) Error() string { return "no such host " + e.host }

// TestServeFollowsGoalState: Serve starts the follower with the login setup it was given.
func TestServeFollowsGoalState(t *testing.T) {
	cp := newFakeCP(t)
	cp.gs.Extensions = []machineapi.Extension{linuxExtension("g1")}
	r := newRig(t, cp)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	login := &fakeLogin{}
	go func() {
		done <- Serve(ctx, r.c, RunOptions{StateDir: r.dir, IMDSAddr: "127.0.0.1:0", Login: login, GoalStateWait: time.Second,
			Logger: slog.New(slog.DiscardHandler), Ready: func(*imds.Server, string) {}})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for cp.last("AADSSHLoginForLinux").ProvisioningState != machineapi.ProvisioningSucceeded && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a, _, _ := login.counts(); a != 1 || cp.last("AADSSHLoginForLinux").ProvisioningState != machineapi.ProvisioningSucceeded {
		t.Fatalf("applies %d, statuses %v", a, cp.states("AADSSHLoginForLinux"))
	}
}

func FuzzJWTOID(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.eyJvaWQiOiJhYmMifQ.c2ln")
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		oid, err := jwtOID(raw)
		if err == nil && (oid == "" || len(raw) > 16<<10) {
			t.Fatalf("accepted %q with oid %q", raw, oid)
		}
	})
}
