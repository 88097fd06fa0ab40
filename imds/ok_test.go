package imds

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAnswers(t *testing.T) {

	appHeader := header("X-IDENTITY-HEADER", "test-identity-header-secret")
	cases := []struct {
		name   string
		ids    []Identity
		target string
		mods   []mod
		want   string // a part of the body
	}{
		{"ok/versions-without-api-version", nil, "/metadata/versions", nil, `"apiVersions":["2017-03-01"`},
		{"ok/instance", nil, "/metadata/instance?" + v21, nil, `"vmId":"02aab8a4-74ef-476e-8182-f6d2ba4166a6"`},
		{"ok/instance-trailing-slash", nil, "/metadata/instance/?" + v21, nil, `"compute":`},
		{"ok/leaf-format-text", nil, "/metadata/instance/compute/vmId?" + v21 + "&format=text", nil, "02aab8a4-74ef-476e-8182-f6d2ba4166a6"},
		{"ok/array-leaf", nil, "/metadata/instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress?" + v21 + "&format=text", nil, "10.144.133.132"},
		{"ok/inner-node-json", nil, "/metadata/instance/network/interface/0?" + v21, nil, `"macAddress":"0011AAFFBB22"`},
		{"ok/root-text-lists-children", nil, "/metadata/instance?" + v21 + "&format=text", nil, "compute/\nnetwork/"},
		{"ok/tags-string", nil, "/metadata/instance/compute/tags?" + v21 + "&format=text", nil, "env:test;team:id"},
		{"ok/user-data-from-2021-01-01", nil, "/metadata/instance/compute/userData?" + v21 + "&format=text", nil, "aGVsbG8="},
		{"ok/info", nil, info, nil, `{"tenantId":"abd8daee-d393-4239-9377-883adda3d40f"}`},
		{"ok/token-system-assigned", both, tokenPath + "?" + v18 + "&" + arm, nil, `"client_id":"` + systemID.ClientID},
		{"ok/token-client-id-upper-case", both, tokenPath + "?" + v18 + "&" + arm + "&client_id=" + strings.ToUpper(userID.ClientID), nil, `"client_id":"` + userID.ClientID},
		{"ok/token-object-id", both, tokenPath + "?" + v18 + "&" + arm + "&object_id=" + userID.ObjectID, nil, `"client_id":"` + userID.ClientID},
		{"ok/token-msi-res-id", both, tokenPath + "?" + v18 + "&" + arm + "&msi_res_id=" + url.QueryEscape(userID.ResourceID), nil, userID.ClientID},
		{"ok/token-mi-res-id", both, tokenPath + "?" + v18 + "&" + arm + "&mi_res_id=" + url.QueryEscape(strings.ToLower(userID.ResourceID)), nil, userID.ClientID},
		{"ok/token-sole-user-assigned-by-default", []Identity{userID}, tokenPath + "?" + v18 + "&" + arm, nil, userID.ClientID},
		{"ok/token-trailing-slash", nil, tokenPath + "/?" + v18 + "&" + arm, nil, `"token_type":"Bearer"`},
		{"ok/token-newest-version", nil, tokenPath + "?api-version=2021-12-13&" + arm, nil, `"refresh_token":""`},
		{"ok/host-localhost-with-port", nil, tokenPath + "?" + v18 + "&" + arm, []mod{host("localhost:40342")}, testJWT},
		{"ok/host-ipv6-loopback", nil, tokenPath + "?" + v18 + "&" + arm, []mod{host("[::1]:40342"), remote("[::1]:5000")}, testJWT},
		{"ok/link-local-caller-is-own-address", nil, tokenPath + "?" + v18 + "&" + arm,
			[]mod{remote("10.0.0.4:5000"), onListener("169.254.169.254:80")}, testJWT},
		{"ok/link-local-caller-is-link-local", nil, "/metadata/instance?" + v21,
			[]mod{remote("169.254.169.254:5000"), onListener("169.254.169.254:80")}, `"compute"`},
		{"ok/app-service", both, app, []mod{appHeader, noHeader("Metadata")}, `"expires_on":"`},
		{"ok/app-service-principal-id", both, app + "&principal_id=" + userID.ObjectID, []mod{appHeader}, userID.ClientID},
		{"ok/app-service-path-case", both, "/MSI/token/?api-version=2019-08-01&" + arm, []mod{appHeader}, systemID.ClientID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids := c.ids
			if ids == nil {
				ids = []Identity{systemID}
			}
			s, _, _ := newTestServer(t, Config{}, ids...)
			w := serve(s, c.target, c.mods...)
			if w.Code != 200 || !strings.Contains(w.Body.String(), c.want) {
				t.Fatalf("status %d body %s; want 200 containing %s", w.Code, w.Body, c.want)
			}
		})
	}
}

func TestCloudShellForm(t *testing.T) {
	s, _, _ := newTestServer(t, Config{}, systemID)
	post := func(body, ctype string, mods ...mod) (int, string) {
		all := append([]mod{method(http.MethodPost), func(r *http.Request) {
			r.Body = http.NoBody
			if body != "" {
				r.Body = ioNopCloser(body)
			}
			r.Header.Set("Content-Type", ctype)
		}}, mods...)
		w := serve(s, CloudShellPath, all...)
		return w.Code, w.Body.String()
	}
	const form = "application/x-www-form-urlencoded"
	if code, body := post(arm, form); code != 200 || !strings.Contains(body, `"expires_in":"3600"`) {
		t.Errorf("ok/cloud-shell: %d %s", code, body)
	}
	for name, tc := range map[string]struct {
		body, ctype string
		mods        []mod
		want        int
	}{
		"fail/cloud-shell-no-metadata": {arm, form, []mod{noHeader("Metadata")}, 400},
		"fail/cloud-shell-json":        {`{"resource":"x"}`, "application/json", nil, 400},
		"fail/cloud-shell-duplicate":   {arm + "&" + arm, form, nil, 400},
		"fail/cloud-shell-no-resource": {"a=b", form, nil, 400},
		"fail/cloud-shell-too-long":    {arm + "&pad=" + strings.Repeat("x", maxQuery), form, nil, 400},
	} {
		if code, body := post(tc.body, tc.ctype, tc.mods...); code != tc.want {
			t.Errorf("%s: %d %s, want %d", name, code, body, tc.want)
		}
	}
}

// TestNeverRedirects sends the paths a ServeMux would answer with 301 (unclean, doubled
// slashes, dot segments, trailing slashes): none may redirect, whatever else they answer.
func TestNeverRedirects(t *testing.T) {
	s, _, _ := newTestServer(t, Config{}, systemID)
	paths := []string{"//metadata/instance", "/metadata//instance", "/metadata/./instance", "/metadata/instance/../versions",
		"/metadata/instance/", "/metadata/instance/compute/", "/metadata/identity/oauth2/token/", "/metadata/identity/oauth2//token",
		"/metadata", "/metadata/", "/", "/metadata/identity", "/metadata/identity/", "/msi/token//", "/metadata/versions/"}
	for _, p := range paths {
		for _, q := range []string{"", "?" + v21, "?" + v18 + "&" + arm} {
			w := serve(s, p+q)
			if w.Code >= 300 && w.Code < 400 || w.Header().Get("Location") != "" {
				t.Errorf("%s%s: %d Location %q", p, q, w.Code, w.Header().Get("Location"))
			}
		}
	}
}

// TestTokenNumbersAreStrings decodes the token answer loosely and checks each number's JSON
// type and value on the fake clock.
func TestTokenNumbersAreStrings(t *testing.T) {
	s, src, clock := newTestServer(t, Config{}, systemID)
	nbf := t0.Add(-time.Minute)
	src.mint = func(_ contextT, id Identity, _ string, _ bool) (Token, error) {
		return Token{AccessToken: testJWT, ExpiresOn: t0.Add(time.Hour), NotBefore: nbf, ExtExpiresOn: t0.Add(2 * time.Hour)}, nil
	}
	serve(s, tokenPath+"?"+v18+"&"+arm)
	clock.Add(10 * time.Minute)
	var body map[string]any
	if err := json.Unmarshal(serve(s, tokenPath+"?"+v18+"&"+arm).Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"expires_in": 3000, "expires_on": t0.Add(time.Hour).Unix(), "not_before": nbf.Unix(), "ext_expires_in": 6600}
	for k, n := range want {
		s, ok := body[k].(string)
		if !ok {
			t.Errorf("%s is %T, want a string", k, body[k])
			continue
		}
		if got, err := strconv.ParseInt(s, 10, 64); err != nil || got != n {
			t.Errorf("%s = %q, want %d", k, s, n)
		}
	}
	if body["refresh_token"] != "" || body["resource"] != "https://management.azure.com/" || body["token_type"] != "Bearer" {
		t.Errorf("body %v", body)
	}
}

// TestInstancePrimitivesAreStrings walks the whole instance answer: every leaf is a string.
func TestInstancePrimitivesAreStrings(t *testing.T) {
	s, _, _ := newTestServer(t, Config{}, systemID)
	var tree any
	if err := json.Unmarshal(serve(s, "/metadata/instance?api-version=2021-12-13").Body.Bytes(), &tree); err != nil {
		t.Fatal(err)
	}
	var walkAll func(path string, n any)
	walkAll = func(path string, n any) {
		switch v := n.(type) {
		case map[string]any:
			for k, c := range v {
				walkAll(path+"/"+k, c)
			}
		case []any:
			for i, c := range v {
				walkAll(path+"/"+strconv.Itoa(i), c)
			}
		case string:
		default:
			t.Errorf("%s is %T", path, n)
		}
	}
	walkAll("", tree)
}

func TestFieldsFollowVersion(t *testing.T) {
	s, _, _ := newTestServer(t, Config{}, systemID)
	keys := func(v string) []string {
		var b struct{ Compute map[string]any }
		_ = json.Unmarshal(serve(s, "/metadata/instance?api-version="+v).Body.Bytes(), &b)
		var out []string
		for k := range b.Compute {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	old, newer := keys("2017-04-02"), keys("2021-02-01")
	if slices.Contains(old, "resourceGroupName") || !slices.Contains(old, "vmId") || len(old) != 11 {
		t.Errorf("2017-04-02 compute keys %v", old)
	}
	for _, k := range []string{"resourceId", "tagsList", "userData", "osProfile", "securityProfile", "storageProfile"} {
		if !slices.Contains(newer, k) {
			t.Errorf("2021-02-01 lacks %s", k)
		}
	}
}

func TestMissingVersionBody(t *testing.T) {
	s, _, _ := newTestServer(t, Config{}, systemID)
	w := serve(s, "/metadata/instance")
	want := `{"error":"Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds","newest-versions":["2021-12-13","2021-11-15","2021-11-01"]}`
	if w.Code != 400 || w.Body.String() != want {
		t.Errorf("%d %s\nwant %s", w.Code, w.Body, want)
	}
}
