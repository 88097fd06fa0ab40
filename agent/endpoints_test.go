package agent

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
)

func TestParseEndpoints(t *testing.T) {
	cases := []struct {
		name, in string
		want     machineapi.Endpoints
		err      string
	}{
		{name: "fail/unknown-field", in: `{"registraton":"https://r.example"}`, err: "registraton"},
		{name: "fail/plain-http", in: `{"login":"http://login.example"}`, err: "must be https"},
		{name: "fail/relative", in: `{"device":"/device"}`, err: "absolute"},
		{name: "fail/userinfo", in: `{"access":"https://u:p@pas.example"}`, err: "absolute"},
		{name: "fail/trailing-data", in: `{"login":"https://l.example"} {}`, err: "after"},
		{name: "fail/not-an-object", in: `["https://l.example"]`, err: "JSON object"},
		{name: "ok/government", in: `{"login":"https://login.microsoftonline.us","registration":"https://enterpriseregistration.microsoftonline.us"}`,
			want: machineapi.Endpoints{Login: "https://login.microsoftonline.us", Registration: "https://enterpriseregistration.microsoftonline.us"}},
		{name: "ok/loopback-http", in: `{"registration":"http://127.0.0.1:9"}`, want: machineapi.Endpoints{Registration: "http://127.0.0.1:9"}},
		{name: "ok/empty", in: `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseEndpoints([]byte(c.in))
			if c.err != "" {
				if err == nil || !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want Invalid mentioning %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

func TestLoadEndpointOverride(t *testing.T) {
	dir := t.TempDir()
	t.Run("ok/none", func(t *testing.T) {
		if ep, err := LoadEndpointOverride(dir, ""); err != nil || ep != (machineapi.Endpoints{}) {
			t.Fatalf("%+v %v", ep, err)
		}
	})
	t.Run("fail/named-file-missing", func(t *testing.T) {
		if _, err := LoadEndpointOverride(dir, filepath.Join(dir, "nope.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("ok/state-dir-file-replaces", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, endpointsFile), []byte(`{"registration":"https://drs.example"}`), 0o600)
		ep, err := LoadEndpointOverride(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		got := mergeEndpoints(machineapi.Endpoints{Login: "https://l", Registration: "https://r"}, ep)
		if got.Login != "https://l" || got.Registration != "https://drs.example" {
			t.Fatalf("%+v", got)
		}
	})
}

func FuzzParseEndpoints(f *testing.F) {
	f.Add([]byte(`{"login":"https://login.microsoftonline.com","registration":"http://127.0.0.1:1"}`))
	f.Add([]byte(`{"x":1}`))
	f.Add([]byte(`{"device":"https://[::1]:80/"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ep, err := ParseEndpoints(b)
		if err != nil {
			return
		}
		// An accepted override parses the same after a round trip through JSON.
		again, err := ParseEndpoints([]byte(`{"login":` + quote(ep.Login) + `,"registration":` + quote(ep.Registration) +
			`,"device":` + quote(ep.Device) + `,"access":` + quote(ep.Access) + `,"management":` + quote(ep.Management) + `}`))
		if err != nil || again != ep {
			t.Fatalf("round trip: %+v → %+v, %v", ep, again, err)
		}
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
