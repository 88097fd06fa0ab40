package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchsh/latch/machineapi"
)

func step(t *testing.T, f *Follower) {
	t.Helper()
	if err := f.Step(context.Background()); err != nil {
		t.Fatalf("Step: %v", err)
	}
}

func TestLoginExtension(t *testing.T) {
	cases := []struct {
		name     string
		prepare  func(cp *fakeCP)
		login    func() LoginSetup
		override func(cp *fakeCP) machineapi.Endpoints
		goos     string
		code     int
		msg      []string
	}{
		{name: "fail/windows-extension-on-linux", prepare: func(cp *fakeCP) {
			cp.gs.Extensions = []machineapi.Extension{{Name: "AADLoginForWindows", Publisher: "Microsoft.Azure.ActiveDirectory",
				Type: "AADLoginForWindows", State: machineapi.ExtensionEnabled, Generation: "g1"}}
		}, code: machineapi.CodeUnsupportedOS, msg: []string{"This extension is not supported on the VM's operating system."}},
		{name: "fail/linux-extension-on-windows", goos: "windows", code: machineapi.CodeUnsupportedOS,
			msg: []string{"not supported on the VM's operating system"}},
		{name: "fail/no-system-assigned-identity", prepare: func(cp *fakeCP) { cp.identity = nil },
			code: machineapi.CodeTenantUnavailable, msg: []string{"-2145648574", "DSREG_E_MSI_TENANTID_UNAVAILABLE", "latch vm identity assign"}},
		{name: "fail/registration-endpoint-unreachable", override: func(*fakeCP) machineapi.Endpoints {
			return machineapi.Endpoints{Registration: "http://127.0.0.1:" + closedPort(t)}
		}, code: machineapi.ExitDiscoveryFailed, msg: []string{"-2145648607", "DSREG_AUTOJOIN_DISC_FAILED", "http://127.0.0.1:", "nslookup"}},
		{name: "fail/registration-refused", prepare: func(cp *fakeCP) { cp.joinRefusal = 403 },
			code: 403, msg: []string{"refused the join", "DirectoryError", "device quota reached"}},
		{name: "fail/no-login-configuration", login: func() LoginSetup { return nil },
			code: codeFailed, msg: []string{"this agent was started without login configuration"}},
		{name: "fail/login-setup-fails", login: func() LoginSetup { return &fakeLogin{fail: errors.New("sshd -t refused")} },
			code: codeFailed, msg: []string{"sshd -t refused"}},
		{name: "ok/latch-login", prepare: func(cp *fakeCP) {
			cp.gs.Extensions = []machineapi.Extension{{Name: "LatchLogin", Publisher: "Latch.Identity", Type: "LatchLogin",
				State: machineapi.ExtensionEnabled, Generation: "g1"}}
		}},
		{name: "ok/aad-ssh-login-for-linux"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cp := newFakeCP(t)
			cp.gs.Extensions = []machineapi.Extension{linuxExtension("g1")}
			if c.prepare != nil {
				c.prepare(cp)
			}
			var login LoginSetup = &fakeLogin{}
			if c.login != nil {
				login = c.login()
			}
			var override machineapi.Endpoints
			if c.override != nil {
				override = c.override(cp)
			}
			r := newRig(t, cp)
			f := r.follower(t, login, override)
			if c.goos != "" {
				f.goos = c.goos
			}
			step(t, f)
			name := cp.gs.Extensions[0].Name
			states := cp.states(name)
			want := machineapi.ProvisioningSucceeded
			if c.code != 0 {
				want = machineapi.ProvisioningFailed
			}
			if !slices.Equal(states, []string{machineapi.ProvisioningCreating, want}) {
				t.Fatalf("reported %v, want Creating then %s", states, want)
			}
			last := cp.last(name)
			if last.Code != c.code || last.Generation != "g1" {
				t.Fatalf("final status %+v, want code %d", last, c.code)
			}
			for _, m := range c.msg {
				if !strings.Contains(last.Message, m) {
					t.Errorf("message %q lacks %q", last.Message, m)
				}
			}
			if c.code == 0 {
				checkJoined(t, r, cp, login.(*fakeLogin), last)
			}
		})
	}
}

func checkJoined(t *testing.T, r *rig, cp *fakeCP, login *fakeLogin, last machineapi.ExtensionStatus) {
	t.Helper()
	if len(last.Steps) != 4 || !strings.Contains(last.Steps[1], "tenant-1") || !strings.Contains(last.Steps[2], "device-1") {
		t.Fatalf("steps %q", last.Steps)
	}
	if a, _, _ := login.counts(); a != 1 || cp.joins != 1 {
		t.Fatalf("login applied %d times, %d joins", a, cp.joins)
	}
	for _, name := range []string{deviceKeyFile, deviceCertFile, progressFile} {
		fi, err := os.Stat(filepath.Join(r.dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", name, fi, err)
		}
	}
	p, _ := loadProgress(r.dir)
	if p.Device == nil || p.Device.DeviceID != "device-1" || p.Device.KeyProvider != KeyProviderSoftware || len(p.Device.Thumbprint) != 40 {
		t.Fatalf("device record %+v", p.Device)
	}
}

// closedPort is a loopback port nothing listens on: one just listened on and closed.
func closedPort(t *testing.T) string {
	cp := newFakeCP(t)
	port := cp.srv.URL[strings.LastIndex(cp.srv.URL, ":")+1:]
	cp.srv.Close()
	return port
}

// TestGoalStateChanges: a new version reaches the login setup without running the extension
// again; 304 confirms; a new generation runs it again (Updating) without joining twice.
func TestGoalStateChanges(t *testing.T) {
	cp := newFakeCP(t)
	cp.gs.Extensions = []machineapi.Extension{linuxExtension("g1")}
	r := newRig(t, cp)
	login := &fakeLogin{}
	f := r.follower(t, login, machineapi.Endpoints{})
	step(t, f)

	t.Run("ok/304-confirms", func(t *testing.T) {
		step(t, f)
		if _, c, _ := login.counts(); c != 1 {
			t.Fatalf("Confirm called %d times", c)
		}
	})
	t.Run("ok/role-change-applies-login", func(t *testing.T) {
		cp.set("v2", func(gs *machineapi.GoalState) {
			gs.Login = &machineapi.Login{Users: []machineapi.LoginUser{{ObjectID: "u2", LocalName: "bob", Admin: true}}}
		})
		step(t, f)
		a, _, _ := login.counts()
		if a != 2 || login.last.Users[0].LocalName != "bob" || len(cp.states("AADSSHLoginForLinux")) != 2 {
			t.Fatalf("applies %d, last %+v, states %v", a, login.last, cp.states("AADSSHLoginForLinux"))
		}
	})
	t.Run("ok/new-generation-updates", func(t *testing.T) {
		cp.set("v3", func(gs *machineapi.GoalState) { gs.Extensions[0].Generation = "g2" })
		step(t, f)
		states := cp.states("AADSSHLoginForLinux")
		if !slices.Equal(states[2:], []string{machineapi.ProvisioningUpdating, machineapi.ProvisioningSucceeded}) || cp.joins != 1 {
			t.Fatalf("states %v, joins %d", states, cp.joins)
		}
	})
	t.Run("ok/deleting-undoes", func(t *testing.T) {
		cp.set("v4", func(gs *machineapi.GoalState) {
			gs.Extensions[0].State = machineapi.ExtensionDeleting
			gs.Login = nil
		})
		step(t, f)
		if _, _, rm := login.counts(); rm != 1 || cp.deletes != 1 || len(cp.devices) != 0 {
			t.Fatalf("removes %d, deletes %d", rm, cp.deletes)
		}
		if last := cp.last("AADSSHLoginForLinux"); last.ProvisioningState != machineapi.ProvisioningDeleted {
			t.Fatalf("last status %+v", last)
		}
		if fileExists(filepath.Join(r.dir, deviceKeyFile)) || fileExists(filepath.Join(r.dir, deviceCertFile)) {
			t.Fatal("device files left behind")
		}
		step(t, f) // 304: nothing active to confirm
		if _, c, _ := login.counts(); c != 1 {
			t.Fatalf("Confirm after removal: %d", c)
		}
	})
	t.Run("ok/deleted-once", func(t *testing.T) {
		cp.set("v5", func(gs *machineapi.GoalState) { gs.VMName = "renamed" })
		step(t, f)
		if _, _, rm := login.counts(); rm != 1 || len(cp.states("AADSSHLoginForLinux")) != 6 {
			t.Fatalf("removes %d, states %v", rm, cp.states("AADSSHLoginForLinux"))
		}
	})
}

// TestLeaveWithoutIdentity: the identity was removed before the extension was deleted; the
// device is forgotten locally and the status says so.
func TestLeaveWithoutIdentity(t *testing.T) {
	cp := newFakeCP(t)
	cp.gs.Extensions = []machineapi.Extension{linuxExtension("g1")}
	r := newRig(t, cp)
	f := r.follower(t, &fakeLogin{}, machineapi.Endpoints{})
	step(t, f)
	cp.mu.Lock()
	cp.identity = nil
	cp.mu.Unlock()
	cp.set("v2", func(gs *machineapi.GoalState) {
		gs.Extensions[0].State = machineapi.ExtensionDeleting
		gs.Identity = nil
	})
	step(t, f)
	last := cp.last("AADSSHLoginForLinux")
	if last.ProvisioningState != machineapi.ProvisioningDeleted || !strings.Contains(strings.Join(last.Steps, "\n"), "forgotten locally") {
		t.Fatalf("status %+v", last)
	}
	if cp.deletes != 0 || fileExists(filepath.Join(r.dir, deviceCertFile)) {
		t.Fatalf("deletes %d, cert left: %v", cp.deletes, fileExists(filepath.Join(r.dir, deviceCertFile)))
	}
}

// TestDisappearedExtensionRemovesLogin: an extension gone from the goal state without
// passing through deleting still has its login setup removed.
func TestDisappearedExtensionRemovesLogin(t *testing.T) {
	cp := newFakeCP(t)
	cp.gs.Extensions = []machineapi.Extension{linuxExtension("g1")}
	r := newRig(t, cp)
	login := &fakeLogin{}
	f := r.follower(t, login, machineapi.Endpoints{})
	step(t, f)
	cp.set("v2", func(gs *machineapi.GoalState) { gs.Extensions, gs.Login = nil, nil })
	step(t, f)
	if _, _, rm := login.counts(); rm != 1 {
		t.Fatalf("Remove called %d times", rm)
	}
	if p, _ := loadProgress(r.dir); len(p.Extensions) != 0 || p.Version != "v2" {
		t.Fatalf("progress %+v", p)
	}
}
