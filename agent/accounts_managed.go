package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"

	"github.com/latchsh/latch/machineapi"
)

// The agent remembers which accounts it manages: every user a Login named, ever. A user who
// leaves the Login is locked because the agent made or reused that account for them; a
// directory-range account the agent never managed (made by hand, or by another agent on the
// same machine) is left as it is. The record outlives Remove, so the accounts Remove locked
// are still known when the extension comes back.

const managedAccountsFile = "login-accounts.json"

// load reads the record once.
func (a *accounts) load() error {
	if a.managed != nil {
		return nil
	}
	a.managed = map[string]bool{}
	if a.record == "" {
		return nil
	}
	b, err := os.ReadFile(a.record)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	for _, n := range names {
		a.managed[n] = true
	}
	return nil
}

// remember adds the users' names to the record and writes it when it grew.
func (a *accounts) remember(users []machineapi.LoginUser) error {
	if err := a.load(); err != nil {
		return err
	}
	grew := false
	for _, u := range users {
		if u.LocalName != "" && !a.managed[u.LocalName] {
			a.managed[u.LocalName], grew = true, true
		}
	}
	if !grew || a.record == "" {
		return nil
	}
	b, err := json.Marshal(slices.Sorted(maps.Keys(a.managed)))
	if err != nil {
		return err
	}
	return writeFile(a.record, append(b, '\n'), 0o600)
}

// managedNames lists the record, sorted.
func (a *accounts) managedNames() ([]string, error) {
	if err := a.load(); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(a.managed)), nil
}
