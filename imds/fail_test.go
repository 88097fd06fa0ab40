package imds

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

const (
	v18  = "api-version=2018-02-01"
	v21  = "api-version=2021-02-01"
	arm  = "resource=https%3A%2F%2Fmanagement.azure.com%2F"
	app  = "/msi/token?api-version=2019-08-01&" + arm
	info = "/metadata/identity/info?" + v18
)

// refusalCase is one request the service must refuse, with the status and error it answers.
type refusalCase struct {
	name   string
	ids    []Identity // default: the system-assigned identity
	target string
	mods   []mod
	status int
	code   string // the body's "error" (identity paths) or a part of it (instance paths)
	desc   string // a part of "error_description", when the case is about it
}

func TestRefusals(t *testing.T) {
	cases := slices.Concat(guardRefusals(), identityRefusals(), requestRefusals(), appServiceRefusals())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids := c.ids
			if ids == nil {
				ids = []Identity{systemID}
			}
			s, src, _ := newTestServer(t, Config{}, ids...)
			w := serve(s, c.target, c.mods...)
			checkRefusal(t, w, c)
			if n := len(src.calls); n != 0 {
				t.Errorf("a refused request reached the control plane %d times", n)
			}
		})
	}
}

// guardRefusals break the rules every path shares: header, proxy, caller.
func guardRefusals() []refusalCase {
	return []refusalCase{
		{name: "fail/no-metadata-header", target: tokenPath + "?" + v18 + "&" + arm, mods: []mod{noHeader("Metadata")},
			status: 400, code: "bad_request_102", desc: "Required metadata header not specified"},
		{name: "fail/metadata-false", target: tokenPath + "?" + v18 + "&" + arm, mods: []mod{header("Metadata", "false")},
			status: 400, code: "bad_request_102"},
		{name: "fail/no-metadata-header-instance", target: "/metadata/instance?" + v21, mods: []mod{noHeader("Metadata")},
			status: 400, code: "Bad request. Required metadata header not specified"},
		{name: "fail/no-metadata-header-versions", target: "/metadata/versions", mods: []mod{noHeader("Metadata")},
			status: 400, code: "Required metadata header"},
		{name: "fail/x-forwarded-for", target: tokenPath + "?" + v18 + "&" + arm, mods: []mod{header("X-Forwarded-For", "203.0.113.7")},
			status: 400, code: "invalid_request", desc: "X-Forwarded-For"},
		{name: "fail/x-forwarded-for-empty", target: "/metadata/instance?" + v21, mods: []mod{header("X-Forwarded-For", "")},
			status: 400, code: "X-Forwarded-For"},
		{name: "fail/forwarded", target: "/metadata/instance?" + v21, mods: []mod{header("Forwarded", "for=203.0.113.7")},
			status: 400, code: "Forwarded"},
		{name: "fail/non-local-source-on-link-local", target: tokenPath + "?" + v18 + "&" + arm,
			mods: []mod{remote("10.0.0.99:5000"), onListener("169.254.169.254:80")}, status: 403, code: "forbidden"},
		{name: "fail/non-local-source-on-loopback-listener", target: "/metadata/instance?" + v21,
			mods: []mod{remote("10.0.0.4:5000"), onListener("127.0.0.1:40342")}, status: 403, code: "Only programs on this machine"},
		{name: "fail/non-local-source-unknown-listener", target: "/metadata/instance?" + v21,
			mods: []mod{remote("192.0.2.1:5000")}, status: 403},
		{name: "fail/remote-address-unparsable", target: "/metadata/instance?" + v21, mods: []mod{remote("@")}, status: 403},
	}
}

// identityRefusals name no identity, an unknown one, or too many.
func identityRefusals() []refusalCase {

	return []refusalCase{
		{name: "fail/unassigned-identity", ids: []Identity{}, target: tokenPath + "?" + v18 + "&" + arm,
			status: 400, code: "invalid_request", desc: "Identity not found"},
		{name: "fail/unassigned-identity-info", ids: []Identity{}, target: info, status: 400, code: "invalid_request", desc: "Identity not found"},
		{name: "fail/only-user-assigned-info", ids: []Identity{userID}, target: info, status: 400, desc: "Identity not found"},
		{name: "fail/unknown-client-id", ids: both, target: tokenPath + "?" + v18 + "&" + arm + "&client_id=cccccccc-0000-4000-8000-000000000009",
			status: 400, code: "invalid_request", desc: "Identity not found"},
		{name: "fail/empty-client-id", ids: both, target: tokenPath + "?" + v18 + "&" + arm + "&client_id=",
			status: 400, desc: "Identity not found"},
		{name: "fail/unknown-object-id", ids: both, target: tokenPath + "?" + v18 + "&" + arm + "&object_id=33333333-3333-3333-3333-333333333333",
			status: 400, desc: "Identity not found"},
		{name: "fail/unknown-msi-res-id", ids: both, target: tokenPath + "?" + v18 + "&" + arm + "&msi_res_id=%2Fsubscriptions%2Fx",
			status: 400, desc: "Identity not found"},
		{name: "fail/object-id-is-not-a-client-id", ids: both, target: tokenPath + "?" + v18 + "&" + arm + "&client_id=" + userID.ObjectID,
			status: 400, desc: "Identity not found"},
		{name: "fail/two-selectors", ids: both, target: tokenPath + "?" + v18 + "&" + arm + "&client_id=" + userID.ClientID + "&object_id=" + userID.ObjectID,
			status: 400, desc: "Only one of"},
		{name: "fail/msi-and-mi-res-id", ids: both, target: tokenPath + "?" + v18 + "&" + arm + "&msi_res_id=a&mi_res_id=a", status: 400, desc: "Only one of"},
		{name: "fail/many-user-assigned-no-selector", ids: []Identity{userID, {ClientID: "c2", ObjectID: "o2"}},
			target: tokenPath + "?" + v18 + "&" + arm, status: 400, desc: "Multiple user assigned identities"},
	}
}

// requestRefusals are malformed requests: parameters, versions, methods, hosts, paths.
func requestRefusals() []refusalCase {
	return []refusalCase{
		{name: "fail/duplicate-resource", target: tokenPath + "?" + v18 + "&" + arm + "&" + arm, status: 400, desc: "repeated"},
		{name: "fail/duplicate-api-version", target: "/metadata/instance?" + v21 + "&" + v21, status: 400, code: "repeated"},
		{name: "fail/duplicate-client-id-differing", ids: both,
			target: tokenPath + "?" + v18 + "&" + arm + "&client_id=" + userID.ClientID + "&client_id=" + systemID.ClientID, status: 400, desc: "repeated"},
		{name: "fail/missing-api-version-instance", target: "/metadata/instance", status: 400, code: "api-version was not specified"},
		{name: "fail/missing-api-version-token", target: tokenPath + "?" + arm, status: 400, code: "api-version was not specified"},
		{name: "fail/bad-api-version", target: "/metadata/instance?api-version=2099-01-01", status: 400, code: "api-version is invalid"},
		{name: "fail/garbage-api-version", target: "/metadata/instance?api-version=latest", status: 400, code: "api-version is invalid"},
		{name: "fail/token-api-version-too-old", target: tokenPath + "?api-version=2017-12-01&" + arm, status: 400, code: "api-version is invalid"},
		{name: "fail/info-api-version-too-old", target: "/metadata/identity/info?api-version=2017-08-01", status: 400, code: "api-version is invalid"},
		{name: "fail/post-token", target: tokenPath + "?" + v18 + "&" + arm, mods: []mod{method(http.MethodPost)}, status: 405, code: "method_not_allowed"},
		{name: "fail/put-instance", target: "/metadata/instance?" + v21, mods: []mod{method(http.MethodPut)}, status: 405},
		{name: "fail/head-instance", target: "/metadata/instance?" + v21, mods: []mod{method(http.MethodHead)}, status: 405},
		{name: "fail/delete-versions", target: "/metadata/versions", mods: []mod{method(http.MethodDelete)}, status: 405},
		{name: "fail/host-off-allowlist", target: "/metadata/instance?" + v21, mods: []mod{host("attacker.example")}, status: 400, code: "Host"},
		{name: "fail/host-rebound-with-port", target: tokenPath + "?" + v18 + "&" + arm, mods: []mod{host("imds.attacker.example:80")}, status: 400, desc: "Host"},
		{name: "fail/host-empty", target: "/metadata/instance?" + v21, mods: []mod{host("")}, status: 400, code: "Host"},
		{name: "fail/leaf-without-format-text", target: "/metadata/instance/compute/vmId?" + v21, status: 400, code: "format=text"},
		{name: "fail/leaf-format-json", target: "/metadata/instance/compute/vmId?" + v21 + "&format=json", status: 400, code: "format=text"},
		{name: "fail/bad-format", target: "/metadata/instance?" + v21 + "&format=xml", status: 400, code: "format"},
		{name: "fail/no-such-element", target: "/metadata/instance/compute/nothing?" + v21 + "&format=text", status: 404},
		{name: "fail/index-out-of-range", target: "/metadata/instance/network/interface/7?" + v21, status: 404},
		{name: "fail/index-not-canonical", target: "/metadata/instance/network/interface/00?" + v21, status: 404},
		{name: "fail/field-newer-than-version", target: "/metadata/instance/compute/userData?api-version=2020-09-01&format=text", status: 404},
		{name: "fail/unknown-path", target: "/metadata/attested/nothing?" + v21, status: 404},
		{name: "fail/missing-resource", target: tokenPath + "?" + v18, status: 400, desc: "Required audience parameter not specified"},
		{name: "fail/empty-resource", target: tokenPath + "?" + v18 + "&resource=", status: 400, desc: "audience"},
		{name: "fail/malformed-query", target: tokenPath + "?" + v18 + "&" + arm + "&x=%zz", status: 400, desc: "malformed"},
		{name: "fail/semicolon-query", target: tokenPath + "?" + v18 + ";" + arm, status: 400, desc: "malformed"},
		{name: "fail/query-too-long", target: tokenPath + "?" + v18 + "&" + arm + "&pad=" + strings.Repeat("a", maxQuery), status: 400, desc: "too long"},
	}
}

// appServiceRefusals are the App Service and Cloud Shell forms' own rules.
func appServiceRefusals() []refusalCase {

	appHeader := header("X-IDENTITY-HEADER", "test-identity-header-secret")
	return []refusalCase{
		{name: "fail/app-service-no-header", target: app, mods: []mod{noHeader("Metadata")}, status: 401, code: "unauthorized"},
		{name: "fail/app-service-wrong-header", target: app, mods: []mod{header("X-IDENTITY-HEADER", "test-identity-header-secreT")}, status: 401},
		{name: "fail/app-service-header-prefix", target: app, mods: []mod{header("X-IDENTITY-HEADER", "test-identity")}, status: 401},
		{name: "fail/app-service-imds-version", target: "/msi/token?" + v18 + "&" + arm, mods: []mod{appHeader}, status: 400, code: "api-version is invalid"},
		{name: "fail/app-service-unknown-principal", ids: both, target: app + "&principal_id=99999999-0000-0000-0000-000000000000",
			mods: []mod{appHeader}, status: 400, desc: "Identity not found"},
		{name: "fail/app-service-msi-res-id-is-not-its-spelling", ids: []Identity{userID}, target: app + "&msi_res_id=x&mi_res_id=y",
			mods: []mod{appHeader}, status: 400, desc: "Identity not found"},
		{name: "fail/app-service-forwarded", target: app, mods: []mod{appHeader, header("X-Forwarded-For", "1.2.3.4")}, status: 400},
		{name: "fail/cloud-shell-get", target: "/oauth2/token", status: 405},
	}
}

func checkRefusal(t *testing.T, rec *httptest.ResponseRecorder, c refusalCase) {
	t.Helper()
	if rec.Code != c.status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, c.status, rec.Body)
	}
	code, desc := errorBody(t, rec)
	if c.code != "" && !contains(code, c.code) {
		t.Errorf("error %q, want it to contain %q", code, c.code)
	}
	if c.desc != "" && !contains(desc, c.desc) {
		t.Errorf("error_description %q, want it to contain %q", desc, c.desc)
	}
	if c.status == 405 && rec.Header().Get("Allow") == "" {
		t.Error("405 without Allow")
	}
}

// TestSourceErrors maps what the control plane says to what the caller sees, never a 404.
func TestSourceErrors(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"fail/identity-removed-upstream", ErrIdentityNotFound, 400, "invalid_request"},
		{"fail/identity-removed-upstream-wrapped", errors.Join(errors.New("control plane: 404"), ErrIdentityNotFound), 400, "invalid_request"},
		{"fail/invalid-resource", ErrInvalidResource, 400, "invalid_resource"},
		{"fail/control-plane-down", errors.New("dial tcp: connection refused"), 500, "unknown"},
		{"fail/empty-token", nil, 500, "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, src, _ := newTestServer(t, Config{}, systemID)
			src.mint = func(context.Context, Identity, string, bool) (Token, error) { return Token{}, c.err }
			w := serve(s, tokenPath+"?"+v18+"&"+arm)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if code, desc := errorBody(t, w); code != c.code || contains(desc, "connection refused") {
				t.Errorf("body %s: want error %q and no upstream detail", w.Body, c.code)
			}
		})
	}
}
