package access

// LoginLevel is how a principal may sign in to a machine.
type LoginLevel uint8

// The levels, from none up. Administrator implies user.
const (
	LoginNone LoginLevel = iota
	LoginUser
	LoginAdministrator
)

// String is "none", "user" or "administrator".
func (l LoginLevel) String() string {
	switch l {
	case LoginUser:
		return "user"
	case LoginAdministrator:
		return "administrator"
	}
	return "none"
}

// DecideLogin answers "may these principals sign in to the machine at vm, and as what" with
// the two data actions: ActionVMLoginAsAdmin gives LoginAdministrator, otherwise ActionVMLogin
// gives LoginUser, otherwise LoginNone. The Decision is the one that settled it: the admin
// decision when it allowed, else the user decision (whose Reason explains a refusal).
func DecideLogin(principalIDs []string, vm Scope, ancestors []Scope, assignments []RoleAssignment, roles map[string]RoleDefinition) (LoginLevel, Decision) {
	req := Request{PrincipalIDs: principalIDs, Action: ActionVMLoginAsAdmin, IsDataAction: true, Scope: vm, Ancestors: ancestors}
	if d := Decide(req, assignments, roles); d.Allowed {
		return LoginAdministrator, d
	}
	req.Action = ActionVMLogin
	d := Decide(req, assignments, roles)
	if d.Allowed {
		return LoginUser, d
	}
	return LoginNone, d
}
