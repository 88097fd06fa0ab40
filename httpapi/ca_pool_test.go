package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/signinlog"
)

// poolEnv is a tenant with 300 policies over ten groups and six users in different groups,
// half of them with an authenticator app, so that sign-ins are allowed, asked to step up,
// denied or blocked, each by different policies.
type poolEnv struct {
	*riskEnv
	users []directory.User
}

func newPoolEnv(t *testing.T) *poolEnv {
	t.Helper()
	e := &poolEnv{riskEnv: newRiskEnv(t)}
	ctx := context.Background()
	id := func(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i) }
	for u := range 6 {
		user := e.user
		user.ID, user.UserPrincipalName, user.DisplayName = id(1, u), fmt.Sprintf("u%d@contoso.test", u), fmt.Sprintf("u%d", u)
		if err := e.s.Store.CreateUser(ctx, user); err != nil {
			t.Fatal(err)
		}
		e.users = append(e.users, user)
		if u%2 == 0 { // a code they could add, so a policy wanting MFA asks them to step up
			if err := e.s.Store.CreateTOTP(ctx, authn.TOTPMethod{ID: id(4, u), TenantID: e.tenant, UserID: user.ID,
				DisplayName: "app", Secret: []byte("0123456789abcdef0123"), Confirmed: true, Created: e.now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for g := range 10 {
		var members []string
		for u := range e.users {
			if (u+g)%3 == 0 {
				members = append(members, e.users[u].ID)
			}
		}
		if err := e.s.Store.CreateGroup(ctx, directory.Group{ID: id(2, g), TenantID: e.tenant, DisplayName: fmt.Sprintf("g%d", g),
			MailNickname: fmt.Sprintf("g%d", g), SecurityEnabled: true, Members: members, Created: e.now}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		p := conditional.Policy{ID: id(3, i), DisplayName: fmt.Sprintf("policy %03d", i), State: conditional.StateEnabled,
			GrantControls: &conditional.GrantControls{Operator: conditional.OperatorOR}}
		p.Conditions.Users.IncludeGroups = conditional.Strings{id(2, i%10)}
		p.Conditions.Applications.IncludeApplications = conditional.Strings{directory.LinuxVMSignInAppID}
		switch i % 5 {
		case 0:
			p.State = conditional.StateReportOnly
			p.GrantControls.BuiltInControls = conditional.Strings{conditional.ControlBlock}
		case 1:
			p.State = conditional.StateDisabled
			p.GrantControls.BuiltInControls = conditional.Strings{conditional.ControlBlock}
		case 2:
			p.GrantControls.AuthenticationStrength = &conditional.StrengthRef{ID: conditional.PhishingResistID}
		default:
			p.GrantControls.BuiltInControls = conditional.Strings{conditional.ControlMFA}
		}
		if i == 7 { // one group is blocked outright
			p.GrantControls = &conditional.GrantControls{Operator: conditional.OperatorOR, BuiltInControls: conditional.Strings{conditional.ControlBlock}}
		}
		if err := e.s.Store.CreateConditionalAccessPolicy(ctx, e.tenant, p); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// signIn is the k-th sign-in of the test: a user and the methods they signed in with.
func (e *poolEnv) signIn(k int) userSignIn {
	methods := [][]string{{authn.MethodPassword}, {authn.MethodPassword, authn.MethodSoftwareOath}, {authn.MethodFIDO2}}
	return userSignIn{Flow: signinlog.FlowSSHCertificate, ClientAppType: conditional.ClientMobileAndDesktop,
		User: e.users[k%len(e.users)], AppID: directory.LinuxVMSignInAppID, Methods: methods[k/len(e.users)%len(methods)]}
}

// kept is what one decision leaves for after the request: the log entry and the refusal.
type kept struct {
	entry   signinlog.Entry
	refusal string
}

func keep(x userSignIn, d caDecision) kept {
	k := kept{entry: (&userEntry{in: signinlog.Input{UserID: x.User.ID, Methods: x.Methods}, result: d.Result}).build()}
	if err := d.refusal("test"); err != nil {
		ca := err.(*caRefusal)
		k.refusal = ca.Error() + " " + ca.suberror + " " + ca.claims
	}
	return k
}

// A decision outlives the pooled Result it was evaluated into: decisions kept while eight
// goroutines evaluate at once give, afterwards, the log entry and refusal that a Result of
// their own gives. Run with -race: the pooled Results are shared between the goroutines.
func TestPooledResultNeverChangesAKeptDecision(t *testing.T) {
	e := newPoolEnv(t)
	const signIns = 18 // each user with each set of methods
	r := httptest.NewRequest("POST", "/token", nil)
	cc, err := e.s.caEvaluator(r.Context(), e.tenant)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]kept, signIns)
	outcomes := map[conditional.Outcome]int{}
	for k := range want {
		x := e.signIn(k)
		d, err := e.s.evaluateSignIn(r, e.tenant, x)
		if err != nil {
			t.Fatal(err)
		}
		registered, err := e.s.registeredMethods(r.Context(), x.User)
		if err != nil {
			t.Fatal(err)
		}
		full := cc.ev.Evaluate(d.In, conditional.DirectoryFacts{RegisteredMethods: registered})
		want[k] = keep(x, caDecision{Result: conditional.Compact{Result: full}})
		want[k].entry.AppliedPolicies = signinlog.New(signinlog.Input{}, full).AppliedPolicies
		outcomes[d.Result.Outcome]++
	}
	if outcomes[conditional.Allow] == 0 || outcomes[conditional.StepUp] == 0 || outcomes[conditional.Block] == 0 {
		t.Fatalf("outcomes %v: the fixture must allow, step up and block", outcomes)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			decisions := make([]caDecision, 0, 5*signIns)
			for n := range cap(decisions) {
				d, err := e.s.evaluateSignIn(r, e.tenant, e.signIn((n+g)%signIns))
				if err != nil {
					t.Error(err)
					return
				}
				decisions = append(decisions, d)
			}
			for n, d := range decisions {
				k := (n + g) % signIns
				if got := keep(e.signIn(k), d); !reflect.DeepEqual(got, want[k]) {
					t.Errorf("goroutine %d, sign-in %d: kept %+v\nwant %+v", g, k, got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
