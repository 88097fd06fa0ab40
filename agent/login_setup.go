package agent

import (
	"context"
	"time"

	"github.com/latchsh/latch/machineapi"
)

// LoginSetup is what the login extension hands over to once the machine is joined: it makes
// OpenSSH accept directory users as the goal state's Login says, keeps the machine's cached
// login decisions current, and undoes all of it when the extension is deleted.
type LoginSetup interface {
	// Apply configures the machine for l (sshd drop-in, the tenant's CA, local accounts,
	// the decision cache). It is called again with each new goal state while the extension
	// is enabled, and must be idempotent.
	Apply(ctx context.Context, st State, l *machineapi.Login) error
	// Confirm records that the control plane was heard at t with nothing new, so cached
	// decisions stay usable for their time to live from t.
	Confirm(t time.Time) error
	// Remove restores what Apply changed: sshd's configuration byte for byte, the admin
	// group's sudo rule, and the decision cache; directory accounts are locked, not deleted.
	Remove(ctx context.Context) error
}
