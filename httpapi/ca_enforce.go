package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/risk"
	"github.com/latchsh/latch/token"
)

// Conditional Access at issuance. Every user sign-in that becomes a token or an SSH
// certificate — authorization code, device code, refresh token, device key, ssh-cert — is
// decided here against the tenant's policies, for the application the token is for (the
// resource's app, or the Linux VM sign-in app for a certificate). Policies decide whether they
// apply: every app is evaluated. Report-only policies are evaluated and logged, never enforced
// (conditional.Evaluate already keeps them out of the outcome).
//
// What is not known is left out rather than guessed: the client address is the TCP peer's
// (the configuration names no trusted proxies, so X-Forwarded-For is never believed), the
// country comes from the admin's geo table when one is loaded (without it, country-based
// named locations match no address), and the platform comes from the User-Agent when it
// names one.

// caTTL is how long a replica keeps a tenant's compiled policies and directory facts.
// Changes made through this replica take effect at once (every successful write moves the
// tenant's change generation, changes.go); those made through another replica within caTTL.
const caTTL = 2 * time.Second

// caState is a server's Conditional Access state: compiled policies and directory facts per
// tenant and change generation, and the sign-in log's queue (signin_log.go).
type caState struct {
	compiled ttlCache[caCompiled]  // by tenant id and change generation
	facts    ttlCache[tenantFacts] // the same
	signIns  signInWriter
}

// tenantFacts are the tenant's groups and directory role assignments, which every user
// sign-in's evaluation needs to know the user's transitive groups and roles.
type tenantFacts struct {
	groups []directory.Group
	roles  []directory.RoleAssignment
}

// caKey is the cache key of a tenant at its current change generation.
func (s *Server) caKey(tenantID string) string {
	gen, _ := s.changes.watch(tenantID)
	return tenantID + "#" + strconv.FormatUint(gen, 10)
}

// userFacts returns userID's transitive groups and directory roles from the tenant's cached
// facts.
func (s *Server) userFacts(ctx context.Context, tenantID, userID string) ([]string, []string, error) {
	f, err := s.caState().facts.get(s.caKey(tenantID), s.now(), caTTL, func() (tenantFacts, error) {
		groups, err := s.Store.ListGroups(ctx, tenantID)
		if err != nil {
			return tenantFacts{}, err
		}
		roles, err := s.Store.ListDirectoryRoleAssignments(ctx, tenantID)
		return tenantFacts{groups, roles}, err
	})
	if err != nil {
		return nil, nil, err
	}
	ids := directory.TransitiveGroups(userID, f.groups)
	return ids, rolesOf(append([]string{userID}, ids...), f.roles), nil
}

// caState returns the server's Conditional Access state; its zero value is ready, so a Server
// built as a literal needs no constructor for it.
func (s *Server) caState() *caState { return &s.ca }

// caCompiled is a tenant's compiled policies and the custom strengths the log reports on.
type caCompiled struct {
	ev     *conditional.Evaluator
	custom []conditional.Strength
}

// caEvaluator returns the tenant's compiled policies, compiling them at most once per caTTL
// and generation.
func (s *Server) caEvaluator(ctx context.Context, tenantID string) (caCompiled, error) {
	// The tenant's change generation moves once a change is stored and before anyone waiting
	// on it (a machine's goal state) is woken, so they never compile the old policies.
	return s.caState().compiled.get(s.caKey(tenantID), s.now(), caTTL, func() (caCompiled, error) {
		policies, err := s.Store.ListConditionalAccessPolicies(ctx, tenantID)
		if err != nil {
			return caCompiled{}, err
		}
		locs, strengths, err := s.caReferences(ctx, tenantID) // graph_ca_evaluate.go
		if err != nil {
			return caCompiled{}, err
		}
		custom := make([]conditional.Strength, 0, len(strengths))
		for _, st := range strengths {
			custom = append(custom, st)
		}
		return caCompiled{ev: conditional.Compile(policies, locs, strengths), custom: custom}, nil
	})
}

// userSignIn is what one user sign-in brings to Conditional Access and the sign-in log.
type userSignIn struct {
	Flow          string // a signinlog.Flow* value, or flowRefresh
	ClientAppType string // conditional.Client*
	Interactive   bool
	User          directory.User
	Client        directory.ServicePrincipal // the client application
	AppID         string                     // the application policies target
	ResourceID    string                     // the VM for a certificate, else the token's audience
	ResourceName  string
	Methods       []string
	AuthTime      time.Time
}

// The sign-in log's flows for a refresh-token redemption and a device-key sign-in, which
// signinlog does not name.
const (
	flowRefresh   = "refreshToken"
	flowDeviceKey = "deviceKey"
)

// caDecision is the outcome of one evaluation, with what the log needs to explain it. Its
// Result is the compact copy conditional.Evaluator.EvaluateCompact makes: the outcome, the
// message and the strengths as evaluated, and only the policy results that are not their
// policy's not-applied default. It shares no storage with the pooled Result it was evaluated
// into, so a decision may be kept for as long as the request needs it — the refusal, the
// step-up page and the sign-in log entry (which expands it to every policy's result) all read
// it after the pooled Result has gone on to other sign-ins.
type caDecision struct {
	In      conditional.SignIn
	Result  conditional.Compact
	Risk    risk.Level
	Reasons []risk.Reason
	Custom  []conditional.Strength
}

// evaluateSignIn decides a user sign-in. Its error is a store failure, never a refusal: the
// caller turns a refusing decision into an error with caRefusal.
func (s *Server) evaluateSignIn(r *http.Request, tenantID string, x userSignIn) (caDecision, error) {
	ctx := r.Context()
	cc, err := s.caEvaluator(ctx, tenantID)
	if err != nil {
		return caDecision{}, err
	}
	now := s.now()
	in := conditional.SignIn{UserID: x.User.ID, AppID: strings.ToLower(x.AppID), ClientAppType: x.ClientAppType,
		Platform: platformOf(r.UserAgent()), Address: remoteAddr(r), Methods: x.Methods, AuthTime: x.AuthTime, Now: now}
	if s.Risk.Geo != nil && in.Address.IsValid() { // the admin's geo table (risk.go) names countries
		in.Country, _ = s.Risk.Geo.Country(in.Address)
	}
	if in.Groups, in.Roles, err = s.userFacts(ctx, tenantID, x.User.ID); err != nil {
		return caDecision{}, err
	}
	level, reasons := s.signInRisk(ctx, tenantID, risk.SignIn{UserID: x.User.ID, Address: in.Address}) // risk.go
	in.SignInRisk = string(level)
	registered, err := s.registeredMethods(ctx, x.User)
	if err != nil {
		return caDecision{}, err
	}
	// The sign-in path evaluates into one of the Evaluator's pooled Results: a fresh Result of
	// one entry per policy on every sign-in (8 KiB with 1,000 policies) put the collector in
	// the token endpoint's tail latency (bench/RESULTS.md, Conditional Access).
	res := cc.ev.EvaluateCompact(in, conditional.DirectoryFacts{PerUserMFA: x.User.MFA, RegisteredMethods: registered})
	return caDecision{In: in, Result: res, Risk: level, Reasons: reasons, Custom: cc.custom}, nil
}

// methodsOfAMR names the authn methods behind a token's amr values, which is how codes,
// device codes and refresh tokens carry a sign-in's methods. "tap" stands for either kind of
// Temporary Access Pass; both satisfy the same built-in strengths, so the one-time kind is
// named.
func methodsOfAMR(amr []string) []string {
	names := map[string]string{"pwd": authn.MethodPassword, "otp": authn.MethodSoftwareOath,
		"fido": authn.MethodFIDO2, "swk": authn.MethodDeviceKey, "hwk": authn.MethodWindowsHello,
		"tap": authn.MethodTAPOneTime}
	var out []string
	for _, a := range amr {
		if m, ok := names[a]; ok && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// remoteAddr is the TCP peer's address. X-Forwarded-For is ignored on purpose: the server's
// configuration names no trusted proxies, and a header anyone can set must not choose the
// named location a policy sees.
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(clientAddress(r))
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// platformOf reads a device platform from a User-Agent, or "" when it names none.
func platformOf(ua string) string {
	switch {
	case strings.Contains(ua, "Android"):
		return "android"
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
		return "iOS"
	case strings.Contains(ua, "Windows"):
		return "windows"
	case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
		return "macOS"
	case strings.Contains(ua, "Linux"):
		return "linux"
	}
	return ""
}

// caRefusal is a token-endpoint refusal by Conditional Access. It carries what Entra's
// answer adds to the usual error shape: suberror and the claims challenge.
type caRefusal struct {
	err      error
	suberror string
	claims   string
}

func (e *caRefusal) Error() string { return e.err.Error() }
func (e *caRefusal) Unwrap() error { return e.err }

// refusal turns a decision that is not Allow into the token endpoint's error, or nil.
//
// As Entra answers: Block (and a Deny nothing the person has can cure) is invalid_grant with
// AADSTS53003; a step-up is interaction_required with AADSTS50076 (50079 when the person must
// first register a method, 50055 for a password change, 70044 for sign-in frequency). The
// description starts with the message a person sees and goes on with the policy's name. The
// claims challenge is plain JSON, {"access_token":{"acrs":{"essential":true,"values":[…]}}},
// whose values are the ids of the authentication strengths the next sign-in must satisfy
// (MultifactorID for "require MFA"), so a client knows what to sign in with.
func (d caDecision) refusal(op string) error {
	res := d.Result
	if res.Outcome == conditional.Allow {
		return nil
	}
	code, kind, sub := "interaction_required", errs.Unauthenticated, "basic_action"
	switch {
	case res.ErrorCode == conditional.CodeBlocked:
		code, kind, sub = "invalid_grant", errs.PermissionDenied, "message_only"
	case res.ErrorCode == conditional.CodePasswordChange:
		sub = "user_password_expired"
	}
	msg := "AADSTS" + strconv.Itoa(res.ErrorCode) + ": " + res.Message + " " + res.Detail
	return &caRefusal{err: errs.E(op, kind, errs.Code(code), msg), suberror: sub, claims: claimsChallenge(res.StepUpStrengths)}
}

// claimsChallenge is the claims parameter a client sends back on its next sign-in.
func claimsChallenge(strengths []string) string {
	if len(strengths) == 0 {
		return ""
	}
	b, _ := json.Marshal(map[string]any{"access_token": map[string]any{
		"acrs": map[string]any{"essential": true, "values": strengths}}})
	return string(b)
}

// writeTokenError writes a token-endpoint refusal: Entra's shape, plus suberror and claims
// for a Conditional Access refusal, and the error number the description starts with.
func (s *Server) writeTokenError(w http.ResponseWriter, r *http.Request, err error) {
	var ca *caRefusal
	if !errors.As(err, &ca) {
		s.writeOAuthError(w, r, err)
		return
	}
	rec := &bodyRecorder{header: http.Header{}}
	s.writeOAuthError(rec, r, err)
	var body map[string]any
	if json.Unmarshal(rec.body, &body) != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	desc, _ := body["error_description"].(string)
	if n, ok := aadstsNumber(desc); ok {
		body["error_codes"] = []int{n}
	}
	body["suberror"] = ca.suberror
	if ca.claims != "" {
		body["claims"] = ca.claims
	}
	writeJSON(w, rec.status, body)
}

// aadstsNumber reads the number of a description starting "AADSTSnnnnn:".
func aadstsNumber(desc string) (int, bool) {
	rest, ok := strings.CutPrefix(desc, "AADSTS")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, ":")
	n, err := strconv.Atoi(num)
	return n, err == nil
}

// bodyRecorder captures one response so writeTokenError can add fields to it.
type bodyRecorder struct {
	header http.Header
	status int
	body   []byte
}

func (b *bodyRecorder) Header() http.Header { return b.header }
func (b *bodyRecorder) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bodyRecorder) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// appOfResource is the application a token for resource is for, as policies name it: ARM's
// and Graph's well-known app ids for the server's own APIs, else the service principal's
// appId the resource names (by appId or servicePrincipalName), else the resource itself.
func (s *Server) appOfResource(ctx context.Context, a authority, resource string) (string, string) {
	n := token.NormalizeAudience(resource)
	switch n {
	case token.NormalizeAudience(s.armAudience()):
		return armAppID, "Windows Azure Service Management API"
	case token.NormalizeAudience(s.graphAudience()):
		return graphAppID, "Microsoft Graph"
	}
	sps, err := s.Store.ListServicePrincipals(ctx, a.Tenant.ID)
	if err != nil {
		return resource, resource
	}
	for _, sp := range sps {
		if strings.EqualFold(sp.AppID, resource) || slices.ContainsFunc(sp.ServicePrincipalNames, func(x string) bool {
			return token.NormalizeAudience(x) == n
		}) {
			return sp.AppID, sp.DisplayName
		}
	}
	return resource, resource
}

// Entra's well-known application ids of the APIs Latch serves itself.
const (
	armAppID   = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
	graphAppID = "00000003-0000-0000-c000-000000000000"
)
