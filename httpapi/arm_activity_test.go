package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Every write is in the activity log with its caller, result and correlation id — refused
// ones too — and the log is read as az monitor activity-log list reads it.
func TestARMActivityLog(t *testing.T) {
	f := newARMFixture(t)
	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	req := func(method, path, tok, cid string, body any) {
		t.Helper()
		resp, _ := f.doWithHeader(t, method, path, tok, body, "x-ms-correlation-request-id", cid)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	req("PUT", f.rgPath("logged")+apiRG, f.adminTok, "11111111-1111-4111-8111-111111111111", map[string]any{"location": "westus"})
	req("PUT", f.rgPath("refused")+apiRG, f.aliceTok, "22222222-2222-4222-8222-222222222222", map[string]any{"location": "westus"})
	req("GET", f.rgPath("logged")+apiRG, f.adminTok, "33333333-3333-4333-8333-333333333333", nil) // reads are not logged
	logPath := "/subscriptions/" + f.sub + "/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter="
	f.run(t, []armCase{
		{name: "fail/no-start", method: "GET", path: logPath + urlq("resourceGroupName eq 'logged'"), tok: f.adminTok, status: 400},
		{name: "fail/unsupported-field", method: "GET", path: logPath + urlq("eventTimestamp ge '"+start+"' and colour eq 'red'"), tok: f.adminTok, status: 400},
		{name: "fail/no-role", method: "GET", path: logPath + urlq("eventTimestamp ge '"+start+"'"), tok: f.aliceTok, status: 403, code: codeAuthz},
		{name: "ok/success-and-failure", method: "GET", path: logPath + urlq("eventTimestamp ge '"+start+"' and eventTimestamp le '"+time.Now().UTC().Add(time.Minute).Format(time.RFC3339)+"'"),
			tok: f.adminTok, status: 200, check: func(t *testing.T, m map[string]any) {
				byCID := map[string]map[string]any{}
				for _, e := range values(t, m) {
					byCID[e["correlationId"].(string)] = e
				}
				ok, refused := byCID["11111111-1111-4111-8111-111111111111"], byCID["22222222-2222-4222-8222-222222222222"]
				if ok == nil || refused == nil || byCID["33333333-3333-4333-8333-333333333333"] != nil {
					t.Fatalf("entries %v", byCID)
				}
				wantField("Succeeded", "status", "value")(t, ok)
				wantField("Microsoft.Resources/subscriptions/resourceGroups/write", "operationName", "value")(t, ok)
				wantField("admin@contoso.test", "caller")(t, ok)
				wantField(f.rgPath("logged"), "resourceId")(t, ok)
				wantField("Created", "subStatus", "value")(t, ok)
				wantField("Failed", "status", "value")(t, refused)
				wantField("alice@contoso.test", "caller")(t, refused)
				wantField("AuthorizationFailed", "properties", "code")(t, refused)
				if !strings.Contains(field(refused, "properties", "message").(string), "does not have authorization") {
					t.Fatalf("refused entry %v", refused)
				}
			}},
		{name: "ok/by-correlation-id", method: "GET", path: logPath + urlq("eventTimestamp ge '"+start+"' and correlationId eq '22222222-2222-4222-8222-222222222222'"),
			tok: f.adminTok, status: 200, check: func(t *testing.T, m map[string]any) {
				if len(values(t, m)) != 1 {
					t.Fatalf("got %v", m)
				}
			}},
		{name: "ok/by-group-leaves-others-out", method: "GET", path: logPath + urlq("eventTimestamp ge '"+start+"' and resourceGroupName eq 'logged'"),
			tok: f.adminTok, status: 200, check: func(t *testing.T, m map[string]any) {
				for _, e := range values(t, m) {
					if e["resourceGroupName"] != "logged" {
						t.Fatalf("entry of %v", e["resourceGroupName"])
					}
				}
			}},
	})
}

// doWithHeader is do with one extra request header.
func (e *testEnv) doWithHeader(t *testing.T, method, path, tok string, body any, key, value string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set(key, value)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}
