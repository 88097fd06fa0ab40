package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"

	"github.com/latchsh/latch/openssh"
)

// Principals is "latch agent principals %u %t %k", sshd's AuthorizedPrincipalsCommand: it
// asks the agent at socketPath to decide and writes the principal line the agent allows, or
// nothing. It fails closed: when the agent cannot be reached or does not answer within
// openssh.DefaultDecisionTimeout it writes nothing and returns the error, and the caller
// exits non-zero, which sshd also reads as no principal.
func Principals(ctx context.Context, socketPath string, args []string, w io.Writer) error {
	req, err := openssh.ParseCommandArgs(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, openssh.DefaultDecisionTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return fmt.Errorf("the Latch agent is not reachable, so no directory login is allowed: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	msg, err := json.Marshal(decisionRequest{User: req.User, KeyType: req.KeyType, Cert: req.Cert})
	if err != nil {
		return err
	}
	if _, err := conn.Write(append(msg, '\n')); err != nil {
		return fmt.Errorf("asking the Latch agent: %w", err)
	}
	var ans decisionAnswer
	line, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &ans)
	}
	if err != nil {
		return fmt.Errorf("no answer from the Latch agent within %v: %w", openssh.DefaultDecisionTimeout, err)
	}
	if ans.Principals == "" {
		return fmt.Errorf("the Latch agent refused the login (its log says why)")
	}
	// The agent only ever allows the account asked for; anything else is not passed on.
	if ans.Principals != req.User+"\n" {
		return fmt.Errorf("the Latch agent answered for another account")
	}
	_, err = io.WriteString(w, ans.Principals)
	return err
}
