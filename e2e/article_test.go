package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/latchsh/latch/cli"
	"github.com/latchsh/latch/testenv"
)

// TestArticleCommandLines runs the Azure article's command lines ("Log in to a Windows
// virtual machine in Azure by using Azure AD"), with az replaced by latch and PowerShell's
// $x=… written as bash, against the real control plane: a person who owns the subscription
// creates the resource group, the VM with a system-assigned identity and the login
// extension, and gives herself and a colleague the login roles.
func TestArticleCommandLines(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	owner := ownerLogin(t, srv)
	sub := "/subscriptions/" + srv.Boot.SubscriptionID
	owner.ok(nil, "ad", "user", "create", "--display-name", "Alice", "--user-principal-name", "alice@contoso.test", "--password", "alice's long passphrase")
	owner.ok(nil, "ad", "user", "create", "--display-name", "Bob", "--user-principal-name", "bob@contoso.test", "--password", "bob's long passphrase")
	owner.ok(nil, "role", "assignment", "create", "--role", "Owner", "--assignee", "alice@contoso.test", "--scope", sub)

	sh := &shell{t: t, l: signIn(t, srv, "alice@contoso.test", "alice's long passphrase"), vars: map[string]string{}}
	sh.run(`latch group create --name myResourceGroup --location southcentralus`)
	vm := sh.run(`latch vm create \
    --resource-group myResourceGroup \
    --name myVM \
    --image Win2019Datacenter \
    --assign-identity \
    --admin-username azureuser \
    --admin-password yourpassword`)
	if !regexp.MustCompile(`"systemAssignedIdentity": "[0-9a-f-]{36}"`).MatchString(vm) {
		t.Errorf("vm create did not print a system-assigned identity:\n%s", vm)
	}
	// No machine runs as myVM here, so the extension waits for one (--no-wait: the command
	// would wait with it) and says how to onboard it.
	sh.run(`latch vm extension set \
    --publisher Microsoft.Azure.ActiveDirectory \
    --name AADLoginForWindows \
    --resource-group myResourceGroup \
    --vm-name myVM --no-wait`)
	ext := sh.run(`latch vm extension show -g myResourceGroup --vm-name myVM -n AADLoginForWindows`)
	if !strings.Contains(ext, `"provisioningState": "Creating"`) || !strings.Contains(ext, "latch agent connect") {
		t.Errorf("the extension does not wait for the machine:\n%s", ext)
	}

	sh.run(`username=$(latch account show --query user.name --output tsv)`)
	sh.run(`rg=$(latch group show --resource-group myResourceGroup --query id -o tsv)`)
	if sh.vars["username"] != "alice@contoso.test" || sh.vars["rg"] != sub+"/resourceGroups/myResourceGroup" {
		t.Fatalf("username=%q rg=%q", sh.vars["username"], sh.vars["rg"])
	}
	sh.run(`latch role assignment create \
    --role "Virtual Machine Administrator Login" \
    --assignee $username \
    --scope $rg`)

	// The note: a user whose sign-in name is not in the directory's domain is assigned by
	// object id, found with "ad user list".
	sh.run(`oid=$(latch ad user list --upn bob@contoso.test --query "[0].id" -o tsv)`)
	sh.run(`latch role assignment create --role "Virtual Machine User Login" --assignee-object-id $oid --scope $rg`)

	table := sh.run(`latch role assignment list --resource-group myResourceGroup -o table`)
	for _, want := range []string{"alice@contoso.test  Virtual Machine Administrator Login  " + sh.vars["rg"],
		"bob@contoso.test    Virtual Machine User Login           " + sh.vars["rg"]} {
		if !strings.Contains(table, want) {
			t.Errorf("role assignment list lacks %q:\n%s", want, table)
		}
	}
	inherited := sh.run(`latch role assignment list --assignee $username --scope $rg --include-inherited --query "[].roleDefinitionName" -o tsv`)
	if inherited != "Owner\nVirtual Machine Administrator Login\n" && inherited != "Virtual Machine Administrator Login\nOwner\n" {
		t.Errorf("alice's assignments with inherited ones: %q", inherited)
	}
	articleRefusals(t, sh, srv, owner)
}

// articleRefusals checks the rules the article states, as the command line reports them.
func articleRefusals(t *testing.T, sh *shell, srv *testenv.Server, owner *latch) {
	// Assigning again is not an error: az prints the assignment that exists.
	again := sh.run(`latch role assignment create --role "Virtual Machine Administrator Login" --assignee $username --scope $rg --query roleDefinitionName -o tsv`)
	if again != "Virtual Machine Administrator Login\n" {
		t.Errorf("a repeated assignment printed %q", again)
	}
	mg := "/providers/Microsoft.Management/managementGroups/" + srv.TenantID
	code, _, stderr := owner.run(context.Background(), "role", "assignment", "create", "--role", "Virtual Machine User Login", "--assignee", "bob@contoso.test", "--scope", mg)
	if code != 1 || !strings.Contains(stderr, "(InvalidCreateRoleAssignmentRequest)") {
		t.Errorf("fail/login-role-at-management-group: exit %d, %q", code, stderr)
	}
	// Bob may log in to the machines of the group, and do nothing else there: he sees no
	// subscription, and may not hand out roles.
	bob := signIn(t, srv, "bob@contoso.test", "bob's long passphrase", "--allow-no-subscriptions")
	code, _, stderr = bob.run(context.Background(), "role", "assignment", "create", "--role", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
		"--assignee-object-id", sh.vars["oid"], "--assignee-principal-type", "User", "--scope", sh.vars["rg"])
	if code != 1 || !strings.Contains(stderr, "(AuthorizationFailed)") {
		t.Errorf("fail/login-role-cannot-assign: exit %d, %q", code, stderr)
	}
}

// signIn signs a person in through the browser flow and returns their command line.
func signIn(t *testing.T, srv *testenv.Server, upn, password string, extra ...string) *latch {
	l := newLatch(t)
	ctx := cli.WithBrowser(context.Background(), func(_ context.Context, authURL string) error {
		go func() {
			if err := srv.SignInWithForm(authURL, upn, password); err != nil {
				t.Error(err)
			}
		}()
		return nil
	})
	args := append([]string{"login", "--server", srv.URL, "--ca-file", srv.CAFile}, extra...)
	if code, _, stderr := l.run(ctx, args...); code != 0 {
		t.Fatalf("%s cannot sign in: exit %d: %s", upn, code, stderr)
	}
	return l
}

// shell runs command lines written as in a bash script: "latch …" with double quotes,
// $variables and backslash-newline continuations, and "name=$(latch …)" assignments.
type shell struct {
	t    *testing.T
	l    *latch
	vars map[string]string
}

var assignment = regexp.MustCompile(`^(\w+)=\$\((.*)\)$`)

// run runs one line, failing the test if it fails, and returns its standard output.
func (sh *shell) run(line string) string {
	sh.t.Helper()
	line = strings.TrimSpace(strings.ReplaceAll(line, "\\\n", " "))
	if m := assignment.FindStringSubmatch(line); m != nil {
		sh.vars[m[1]] = strings.TrimRight(sh.run(m[2]), "\n")
		return ""
	}
	words := sh.words(line)
	if len(words) == 0 || words[0] != "latch" {
		sh.t.Fatalf("not a latch command: %s", line)
	}
	code, out, stderr := sh.l.run(context.Background(), words[1:]...)
	if code != 0 {
		sh.t.Fatalf("%s\nexit %d\n%s", line, code, stderr)
	}
	return out
}

// words splits a line as bash would for these scripts: blanks separate words, double quotes
// group them, $name expands (unquoted expansions are not split again: the values have no
// blanks).
func (sh *shell) words(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; {
		case ch == '"':
			quoted, inWord = !quoted, true
		case (ch == ' ' || ch == '\t') && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '$':
			j := i + 1
			for j < len(line) && (line[j] == '_' || isAlnum(line[j])) {
				j++
			}
			cur.WriteString(sh.vars[line[i+1:j]])
			i, inWord = j-1, true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// TestResourceCommands runs the rest of the resource commands against the real control
// plane, as the owner: what the article does not show but a person managing it needs.
func TestResourceCommands(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	sh := &shell{t: t, l: ownerLogin(t, srv), vars: map[string]string{}}
	sh.run(`latch group create -n rg1 -l westus --tags env=test`)
	if got := sh.run(`latch group exists -n rg1`); got != "true\n" {
		t.Errorf("group exists: %q", got)
	}
	if got := sh.run(`latch group list -o table`); !regexp.MustCompile(`(?m)^Name +Location +Status\n-+  -+  -+\nrg1 +westus +Succeeded$`).MatchString(got) {
		t.Errorf("group list table:\n%s", got)
	}
	sh.run(`latch vm create -g rg1 -n vm1 --image UbuntuLTS --ssh-key-values "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHy8 user@host"`)
	if got := sh.run(`latch vm list -g rg1 --query "[].{n:name, os:storageProfile.osDisk.osType}" -o tsv`); got != "vm1\tLinux\n" {
		t.Errorf("vm list: %q", got)
	}
	sh.run(`latch vm identity assign -g rg1 -n vm1`)
	sh.run(`pid=$(latch vm identity show -g rg1 -n vm1 --query principalId -o tsv)`)
	if len(sh.vars["pid"]) != 36 {
		t.Errorf("identity principal %q", sh.vars["pid"])
	}
	sh.run(`latch vm identity remove -g rg1 -n vm1`)
	if got := sh.run(`latch vm identity show -g rg1 -n vm1 --query principalId -o tsv`); strings.TrimSpace(got) != "" {
		t.Errorf("identity after remove: %q", got)
	}
	sh.run(`latch vm extension set -n AADSSHLoginForLinux --publisher Microsoft.Azure.ActiveDirectory -g rg1 --vm-name vm1 --no-wait`)
	if got := sh.run(`latch vm extension list -g rg1 --vm-name vm1 --query "[].typePropertiesType" -o tsv`); got != "AADSSHLoginForLinux\n" {
		t.Errorf("extension list: %q", got)
	}
	sh.run(`latch vm extension delete -n AADSSHLoginForLinux -g rg1 --vm-name vm1`)
	customRoleCommands(t, sh)
	managementGroupCommands(t, sh)
	if got := sh.run(`latch monitor activity-log list --resource-group rg1 --offset 1h --query "[].operationName.value" -o tsv`); !strings.Contains(got, "Microsoft.Compute/virtualMachines/extensions/delete") {
		t.Errorf("activity log of rg1:\n%s", got)
	}
	sh.run(`latch vm delete -g rg1 -n vm1 --yes`)
	sh.run(`latch group delete -n rg1 --yes`)
	if got := sh.run(`latch group exists -n rg1`); got != "false\n" {
		t.Errorf("group exists after delete: %q", got)
	}
}

func customRoleCommands(t *testing.T, sh *shell) {
	sh.run(`sub=$(latch account show --query id -o tsv)`)
	def := `{"Name": "Contoso Login", "Description": "Sign in to machines.", "Actions": ["Microsoft.Compute/virtualMachines/read"], "DataActions": ["Microsoft.Compute/virtualMachines/login/action"], "AssignableScopes": ["/subscriptions/` + sh.vars["sub"] + `"]}`
	code, out, stderr := sh.l.run(context.Background(), "role", "definition", "create", "--role-definition", def, "--query", "roleType", "-o", "tsv")
	if code != 0 || out != "CustomRole\n" {
		t.Fatalf("role definition create: exit %d, %q, %s", code, out, stderr)
	}
	if got := sh.run(`latch role definition list --custom-role-only --query "[].roleName" -o tsv`); got != "Contoso Login\n" {
		t.Errorf("custom roles: %q", got)
	}
	sh.run(`latch role definition delete --name "Contoso Login"`)
	if got := sh.run(`latch role definition list --name "Contoso Login"`); got != "[]\n" {
		t.Errorf("after delete: %q", got)
	}
}

func managementGroupCommands(t *testing.T, sh *shell) {
	sh.run(`latch account management-group create --name Engineering --display-name "Engineering department"`)
	if got := sh.run(`latch account management-group show -n Engineering --query displayName -o tsv`); got != "Engineering department\n" {
		t.Errorf("management-group show: %q", got)
	}
	if got := sh.run(`latch account management-group list --query "[?name=='Engineering'].displayName" -o tsv`); got != "Engineering department\n" {
		t.Errorf("management-group list: %q", got)
	}
	sh.run(`latch account management-group delete --name Engineering`)
	// ARM answers for a management group that does not exist as for one the caller may not
	// read, so that names do not leak.
	code, _, stderr := sh.l.run(context.Background(), "account", "management-group", "show", "-n", "Engineering")
	if code == 0 || !strings.Contains(stderr, "(AuthorizationFailed)") && !strings.Contains(stderr, "NotFound") {
		t.Errorf("show after delete: exit %d, %s", code, stderr)
	}
}
