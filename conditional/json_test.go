package conditional

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
)

// referencePolicy is the example policy of Graph's documentation for the VM sign-in app.
const referencePolicy = `{"displayName":"VM sign-in requires phishing-resistant MFA","state":"enabledForReportingButNotEnforced",
 "conditions":{"applications":{"includeApplications":["372140e0-b3b7-4226-8ef9-d57986796201"],"excludeApplications":[],"includeUserActions":[]},
   "users":{"includeUsers":["All"],"excludeUsers":[],"includeGroups":[],"excludeGroups":[],"includeRoles":[],"excludeRoles":[]},
   "signInRiskLevels":["high","medium"],"clientAppTypes":["all"],
   "locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]},"platforms":null},
 "grantControls":{"operator":"OR","builtInControls":[],"customAuthenticationFactors":[],"termsOfUse":[],
   "authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004"}},"sessionControls":null}`

// graphGET is a policy as Graph's GET returns it: annotations, null unsupported fields, the
// strength embedded whole, and sign-in frequency.
const graphGET = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies/$entity",
 "id":"6b5e0bd5-1ccd-4b4e-93a5-2b2b4ed0b4c1","templateId":null,"displayName":"Admins every 4 hours",
 "createdDateTime":"2026-01-02T03:04:05.678Z","modifiedDateTime":null,"state":"enabled",
 "sessionControls":{"disableResilienceDefaults":null,"applicationEnforcedRestrictions":null,"cloudAppSecurity":null,"persistentBrowser":null,
   "signInFrequency":{"value":4,"type":"hours","authenticationType":"primaryAndSecondaryAuthentication","frequencyInterval":"timeBased","isEnabled":true}},
 "conditions":{"userRiskLevels":[],"signInRiskLevels":[],"clientAppTypes":["all"],"servicePrincipalRiskLevels":[],"insiderRiskLevels":null,
   "platforms":{"includePlatforms":["all"],"excludePlatforms":["iOS"]},"locations":null,"devices":null,"clientApplications":null,
   "applications":{"includeApplications":["All"],"excludeApplications":[],"includeUserActions":[],"includeAuthenticationContextClassReferences":[],"applicationFilter":null},
   "users":{"includeUsers":[],"excludeUsers":["GuestsOrExternalUsers"],"includeGroups":[],"excludeGroups":[],"includeRoles":["62e90394-69f5-4237-9190-012177145e10"],"excludeRoles":[],
     "includeGuestsOrExternalUsers":null,"excludeGuestsOrExternalUsers":{"guestOrExternalUserTypes":"internalGuest,b2bCollaborationGuest","externalTenants":{"@odata.type":"#microsoft.graph.conditionalAccessAllExternalTenants","membershipKind":"all"}}}},
 "grantControls":{"operator":"OR","builtInControls":[],"customAuthenticationFactors":[],"termsOfUse":[],
   "authenticationStrength@odata.context":"https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies('6b5e')/grantControls/authenticationStrength/$entity",
   "authenticationStrength":{"id":"00000000-0000-0000-0000-000000000002","createdDateTime":"2021-12-01T08:00:00Z","modifiedDateTime":"2021-12-01T08:00:00Z",
     "displayName":"Multifactor authentication","description":"x","policyType":"builtIn","requirementsSatisfied":"mfa","allowedCombinations":["fido2"],
     "combinationConfigurations@odata.context":"x","combinationConfigurations":[]}}}`

func TestParsePolicy(t *testing.T) {
	mutate := func(old, new string) string {
		if !strings.Contains(referencePolicy, old) {
			t.Fatalf("test fixture lacks %q", old)
		}
		return strings.Replace(referencePolicy, old, new, 1)
	}
	cases := []struct{ name, json, want string }{
		{"fail/unknown-top-field", mutate(`"displayName"`, `"colour":"red","displayName"`), "unknown field"},
		{"fail/unknown-nested-field", mutate(`"excludeRoles":[]`, `"excludeRoles":[],"excludeCats":[]`), "unknown field"},
		{"fail/unknown-deep-field", mutate(`{"id":"00000000`, `{"strong":true,"id":"00000000`), "unknown field"},
		{"fail/duplicate-key", mutate(`"state"`, `"state":"enabled","state"`), "twice"},
		{"fail/trailing-data", referencePolicy + `{}`, "after the JSON"},
		{"fail/bad-state", mutate(`"enabledForReportingButNotEnforced"`, `"on"`), "state must be"},
		{"fail/bad-operator", mutate(`"OR"`, `"XOR"`), "operator"},
		{"fail/bad-control", mutate(`"builtInControls":[]`, `"builtInControls":["prayer"]`), "prayer"},
		{"fail/mfa-and-strength", mutate(`"builtInControls":[]`, `"builtInControls":["mfa"]`), "together"},
		{"fail/block-with-strength", mutate(`"builtInControls":[]`, `"builtInControls":["block"]`), "block cannot"},
		{"fail/terms-of-use", mutate(`"termsOfUse":[]`, `"termsOfUse":["5f0a0000-0000-4000-8000-000000000001"]`), "termsOfUse"},
		{"fail/no-users", mutate(`"includeUsers":["All"]`, `"includeUsers":[]`), "include someone"},
		{"fail/all-not-alone", mutate(`"includeUsers":["All"]`, `"includeUsers":["All","a11ce000-0000-4000-8000-000000000001"]`), "only entry"},
		{"fail/user-not-guid", mutate(`"includeUsers":["All"]`, `"includeUsers":["alice"]`), "object id"},
		{"fail/apps-and-actions", mutate(`"includeUserActions":[]`, `"includeUserActions":["urn:user:registerdevice"]`), "not both"},
		{"fail/bad-risk", mutate(`["high","medium"]`, `["severe"]`), "severe"},
		{"fail/bad-client", mutate(`"clientAppTypes":["all"]`, `"clientAppTypes":["telnet"]`), "telnet"},
		{"fail/unsupported-devices", mutate(`"platforms":null`, `"platforms":null,"devices":{"deviceFilter":{"mode":"include","rule":"x"}}`), "conditions.devices"},
		{"fail/unsupported-session", mutate(`"sessionControls":null`, `"sessionControls":{"persistentBrowser":{"mode":"never","isEnabled":true}}`), "persistentBrowser"},
		{"fail/frequency-out-of-range", mutate(`"sessionControls":null`, `"sessionControls":{"signInFrequency":{"value":48,"type":"hours","isEnabled":true}}`), "1 to 23"},
		{"fail/no-controls", mutate(`"grantControls":{"operator":"OR","builtInControls":[],"customAuthenticationFactors":[],"termsOfUse":[],
   "authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004"}}`, `"grantControls":null`), "grantControls or"},
		{"fail/wrong-type", mutate(`"displayName":"VM`, `"displayName":7,"x":"VM`), "displayName"},
		{"fail/not-json", `{"displayName":`, "not valid JSON"},
		{"ok/reference", referencePolicy, ""},
		{"ok/graph-get", graphGET, ""},
		{"ok/null-lists", mutate(`"excludeApplications":[]`, `"excludeApplications":null`), ""},
		{"ok/absent-lists", mutate(`"excludeApplications":[],`, ``), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(c.json))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkRoundTrip(t, p)
				return
			}
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want Invalid mentioning %q", err, c.want)
			}
		})
	}
}

func TestParsePolicyTooLarge(t *testing.T) {
	big := `{"displayName":"` + strings.Repeat("x", MaxJSONBytes) + `"}`
	if _, err := ParsePolicy([]byte(big)); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("err = %v", err)
	}
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	if _, err := ParsePolicy([]byte(`{"displayName":` + deep + `}`)); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("err = %v", err)
	}
}

// checkRoundTrip marshals p, parses it again and requires the same canonical bytes.
func checkRoundTrip(t *testing.T, p Policy) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParsePolicy(b)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, b)
	}
	b2, _ := json.Marshal(q)
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the policy:\n%s\n%s", b, b2)
	}
	if strings.Contains(string(b), "null,\"excludeApplications\"") || strings.Contains(string(b), `"excludeApplications":null`) {
		t.Fatalf("lists must be written as []: %s", b)
	}
}

func TestCanonicalShape(t *testing.T) {
	p, err := ParsePolicy([]byte(graphGET))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	for _, want := range []string{`"excludeApplications":[]`, `"includeGuestsOrExternalUsers":null`, `"locations":null`,
		`"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000002"}`, `"createdDateTime":"2026-01-02T03:04:05.678Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("canonical form lacks %s:\n%s", want, b)
		}
	}
	for _, absent := range []string{"templateId", "@odata.context", "devices", "modifiedDateTime"} {
		if strings.Contains(string(b), absent) {
			t.Errorf("canonical form has %s:\n%s", absent, b)
		}
	}
}
