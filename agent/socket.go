package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/latchsh/latch/openssh"
)

// The decision socket: sshd runs the principals command as an unprivileged user, and that
// command asks the agent (root, holding the cached rules) over a Unix socket. One request
// and one answer per connection, each a line of JSON.

// maxDecisionRequest caps a request: the certificate argument is capped at 16 KiB by openssh.
const maxDecisionRequest = 32 << 10

// decisionRequest is what the principals command sends: sshd's three tokens.
type decisionRequest struct {
	User    string `json:"user"`
	KeyType string `json:"keyType"`
	Cert    string `json:"cert"`
}

// decisionAnswer is the agent's reply: Principals is what the command prints, empty when
// the login is refused.
type decisionAnswer struct {
	Principals string `json:"principals"`
}

// listenDecisions opens the socket at path, replacing a stale one, in a directory only root
// can write. The socket itself is world-connectable (0666): the peer's uid, checked on each
// connection, is what decides who may ask.
func listenDecisions(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// serveDecisions answers connections on ln until ctx ends.
func (lg *Login) serveDecisions(ctx context.Context, ln net.Listener) error {
	go func() { <-ctx.Done(); ln.Close() }()
	allowed := lg.allowedPeers()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go lg.answer(ctx, conn.(*net.UnixConn), allowed)
	}
}

// allowedPeers are the uids that may ask: root and the drop-in's command user.
func (lg *Login) allowedPeers() []int {
	if lg.peers != nil {
		return lg.peers
	}
	peers := []int{0}
	name := lg.o.SSHD.CommandUser
	if name == "" {
		name = openssh.DefaultCommandUser
	}
	if u, err := user.Lookup(name); err == nil {
		if uid, err := strconv.Atoi(u.Uid); err == nil {
			peers = append(peers, uid)
		}
	}
	return peers
}

// answer serves one connection. A peer that is not allowed gets no answer at all.
func (lg *Login) answer(ctx context.Context, conn *net.UnixConn, allowed []int) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(openssh.DefaultDecisionTimeout))
	uid, err := peerUID(conn)
	if err != nil || !containsInt(allowed, uid) {
		lg.log.Warn("login decision asked by a process that may not ask; refused", "uid", uid, "error", err)
		return
	}
	var req decisionRequest
	line, err := bufio.NewReader(io.LimitReader(conn, maxDecisionRequest)).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err != nil {
		lg.log.Warn("unreadable login decision request", "error", err)
		return
	}
	out := lg.principals(ctx, req)
	json.NewEncoder(conn).Encode(decisionAnswer{Principals: out})
}

// principals runs openssh.Principals on the cached rules and logs the decision.
func (lg *Login) principals(ctx context.Context, r decisionRequest) string {
	c := lg.snapshot()
	if c == nil {
		// Without rules there is no CA to check against either; say why plainly.
		v := decide(nil, lg.now(), openssh.Login{})
		lg.audit.record(loginEvent(lg.now(), openssh.Login{User: r.User}, v, &openssh.Refusal{Reason: v.Reason}))
		return ""
	}
	req := openssh.PrincipalsRequest{User: r.User, KeyType: r.KeyType, Cert: r.Cert, Now: lg.now(), LookupUID: lg.lookupUID,
		VMResourceID: c.ResourceID}
	req.CAKeys, _ = parseCAKeys(c.Login.CAKeys)
	// decide runs on a goroutine of its own and may, past the timeout, report late.
	seen := make(chan verdict, 1)
	var buf bytes.Buffer
	login, err := openssh.Principals(ctx, &buf, req, lg.decideFunc(func(v verdict) { seen <- v }))
	var v verdict
	select {
	case v = <-seen:
	default:
	}
	lg.audit.record(loginEvent(lg.now(), login, v, err))
	return buf.String()
}

// peerUID is the uid of the process at the other end, from the kernel (SO_PEERCRED), which
// the peer cannot forge.
func peerUID(conn *net.UnixConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if credErr != nil {
		return -1, fmt.Errorf("SO_PEERCRED: %w", credErr)
	}
	return int(cred.Uid), nil
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
