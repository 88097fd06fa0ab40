package latch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The layering of DESIGN.md, checked on the real import graph: domain packages speak neither
// HTTP nor SQL, the store speaks no HTTP, the machine side never links the server's database
// drivers, and only the wiring in cmd/ puts the command line and the server adapters together.

const module = "github.com/latchsh/latch"

// pkg is what a rule sees of one package: paths are relative to the module ("store/sqlite"),
// standard-library and third-party paths stay as they are.
type pkg struct {
	path    string
	imports []string // direct: what the package's own files say
	deps    []string // transitive: linking matters, not which file says import
}

// rule forbids packages matching subject from depending on anything matching forbidden.
type rule struct {
	name      string
	subject   func(path string) bool
	forbidden func(dep string) bool
	// together, when set, exempts a package unless it also depends on something matching it:
	// the rule then forbids the two together.
	together func(dep string) bool
	// direct checks only the package's own imports. Domain code must not speak HTTP or SQL
	// itself, but a library it uses (go-webauthn parses requests for its own HTTP helpers) may
	// link net/http without the domain depending on it.
	direct bool
}

// under reports whether path is one of roots or inside one of them.
func under(roots ...string) func(string) bool {
	return func(path string) bool {
		for _, r := range roots {
			if path == r || strings.HasPrefix(path, r+"/") {
				return true
			}
		}
		return false
	}
}

var (
	domain       = under("errs", "directory", "authn", "token", "access", "conditional", "risk", "signinlog", "resource", "policy")
	protocols    = under("net/http", "database/sql")
	serverSide   = under("store", "httpapi", "webui", "cli")
	storeDrivers = under("store/sqlite", "store/postgres", "store/sqlstore")
	adapters     = under("store/sqlite", "store/postgres", "store/sqlstore", "httpapi", "webui")
	// testenv and bench run the whole system in one process, so they may wire it like cmd/.
	wiring = under("cmd", "testenv", "bench")
)

var rules = []rule{
	{name: "domain packages speak no HTTP or SQL", subject: domain, forbidden: protocols, direct: true},
	{name: "domain packages link no adapter", subject: domain, forbidden: serverSide},
	// Direct, like the domain rule: the store links net/http only through authn's WebAuthn library.
	{name: "the store imports no net/http", subject: under("store"), forbidden: under("net/http"), direct: true},
	{name: "the machine side does not link the server's database", subject: under("agent", "imds", "openssh"), forbidden: storeDrivers},
	{name: "only cmd/ wires the CLI to server adapters", subject: func(p string) bool { return !wiring(p) },
		forbidden: under("cli"), together: adapters},
}

// violations lists every broken rule as "rule: package → dependency", sorted.
func violations(pkgs []pkg, rules []rule) []string {
	var out []string
	for _, r := range rules {
		for _, p := range pkgs {
			if !r.subject(p.path) {
				continue
			}
			out = append(out, r.check(p)...)
		}
	}
	sort.Strings(out)
	return out
}

func (r rule) check(p pkg) []string {
	if r.together != nil && !slices.ContainsFunc(p.deps, r.together) {
		return nil
	}
	deps := p.deps
	if r.direct {
		deps = p.imports
	}
	var out []string
	for _, d := range deps {
		if r.forbidden(d) {
			out = append(out, r.name+": "+p.path+" → "+d)
		}
	}
	return out
}

// listPackages runs go list over the module and returns its packages with module-relative paths.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath    string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, pkg{path: rel(p.ImportPath), imports: relAll(p.Imports), deps: relAll(p.Deps)})
	}
	return pkgs
}

func rel(path string) string {
	if path == module {
		return "."
	}
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r
	}
	return path
}

func relAll(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = rel(p)
	}
	return out
}

func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the whole module")
	}
	pkgs := listPackages(t)
	if len(pkgs) < 5 || !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.path == "directory" }) {
		t.Fatalf("go list found %d packages, not the module's", len(pkgs))
	}
	for _, v := range violations(pkgs, rules) {
		t.Error(v)
	}
}

// TestRulesCatchViolations plants one violation of each rule in a made-up graph, so a rule
// that can no longer fail is noticed.
func TestRulesCatchViolations(t *testing.T) {
	fake := []pkg{
		{path: "token", imports: []string{"errs"}, deps: []string{"errs", "crypto/ecdsa"}},
		{path: "authn", imports: []string{"github.com/x/webauthn"}, deps: []string{"github.com/x/webauthn", "net/http"}},
		{path: "access", imports: []string{"net/http"}, deps: []string{"directory", "github.com/x/y", "net/http"}},
		{path: "policy", imports: []string{"store"}, deps: []string{"store", "directory"}},
		{path: "resource/arm", imports: []string{"database/sql"}, deps: []string{"database/sql"}},
		{path: "store/sqlite", imports: []string{"net/http"}, deps: []string{"database/sql", "net/http"}},
		{path: "store/postgres", imports: []string{"net/http"}, deps: []string{"github.com/jackc/pgx/v5", "net/http"}},
		{path: "store/sqlstore", imports: []string{"authn"}, deps: []string{"authn", "github.com/x/webauthn", "net/http"}},
		{path: "agent/ext", deps: []string{"agent", "store/postgres"}},
		{path: "imds", deps: []string{"agent", "directory"}},
		{path: "cli/admin", deps: []string{"cli", "httpapi"}},
		{path: "cli", deps: []string{"net/http"}},
		{path: "cmd/latch", deps: []string{"cli", "store/sqlite"}},
	}
	want := []string{
		"domain packages link no adapter: policy → store",
		"domain packages speak no HTTP or SQL: access → net/http",
		"domain packages speak no HTTP or SQL: resource/arm → database/sql",
		"only cmd/ wires the CLI to server adapters: cli/admin → cli",
		"the machine side does not link the server's database: agent/ext → store/postgres",
		"the store imports no net/http: store/postgres → net/http",
		"the store imports no net/http: store/sqlite → net/http",
	}
	if got := violations(fake, rules); !slices.Equal(got, want) {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
