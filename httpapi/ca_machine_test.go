package httpapi_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/resource"
)

func TestMachineLoginRequirements(t *testing.T) {
	phishing := [][]string{{"fido2"}, {"windowsHelloForBusiness"}, {"x509CertificateMultiFactor"}}
	cases := []struct {
		name  string
		setup func(t *testing.T, f *sshFixture)
		block string
		reqs  [][]string
	}{
		{name: "fail/block-policy-blocks", block: "Block VM sign-in", setup: func(t *testing.T, f *sshFixture) {
			f.caPolicy(t, blockPolicy("Block VM sign-in", directory.LinuxVMSignInAppID, ""))
		}},
		{name: "fail/strength-becomes-combinations", reqs: phishing, setup: func(t *testing.T, f *sshFixture) {
			f.caPolicy(t, strengthPolicy("VM sign-in requires phishing-resistant MFA", "enabled", conditional.PhishingResistID))
		}},
		{name: "ok/location-policy-left-to-issuance", setup: func(t *testing.T, f *sshFixture) {
			f.caPolicy(t, blockPolicy("Block loopback", directory.LinuxVMSignInAppID, f.caLocation(t, "127.0.0.0/8")))
		}},
		{name: "ok/report-only-not-sent", setup: func(t *testing.T, f *sshFixture) {
			f.caPolicy(t, strengthPolicy("Report only", "enabledForReportingButNotEnforced", conditional.PhishingResistID))
		}},
		{name: "ok/other-app-not-sent", setup: func(t *testing.T, f *sshFixture) {
			f.caPolicy(t, blockPolicy("Block Windows VM sign-in", directory.WindowsVMSignInAppID, ""))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newSSHFixture(t)
			tc.setup(t, f)
			u := machineapi.LoginUser{ObjectID: f.alice.ID, UserPrincipalName: f.alice.UserPrincipalName}
			if err := f.API.LoginRequirements(context.Background(), f.Tenant.ID, resource.Resource{ID: f.vm}, &u); err != nil {
				t.Fatal(err)
			}
			if u.Block != tc.block || !reflect.DeepEqual(u.Requirements, tc.reqs) {
				t.Fatalf("block %q requirements %v; want %q %v", u.Block, u.Requirements, tc.block, tc.reqs)
			}
		})
	}
}
