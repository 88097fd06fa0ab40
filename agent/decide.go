package agent

import (
	"context"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/openssh"
	"github.com/latchsh/latch/token"
)

// staleAfter is when a cached Login counts as stale: the control plane answers every
// long-poll within MaxWaitSeconds, so two waits without a word mean it is not being heard.
const staleAfter = 2 * machineapi.MaxWaitSeconds * time.Second

// The words a refused user reads in the audit log and the sign-in log, the article's.
const (
	reasonNotAllowed = "Your account is configured to prevent you from using this device."
	reasonMethod     = "The sign-in method you're trying to use isn't allowed. Try a different sign-in method or contact your system administrator."
)

// loginCache is what the machine decides from, kept in memory and in login-cache.json so a
// restarted agent keeps deciding while the control plane is away.
type loginCache struct {
	Login       machineapi.Login `json:"login"`
	ConfirmedAt time.Time        `json:"confirmedAt"` // the control plane was last heard
	ResourceID  string           `json:"resourceId"`  // this machine's VM
	TenantID    string           `json:"tenantId"`
	DropInSum   string           `json:"dropInSum"` // what the installed drop-in was made from
}

// verdict is one decision with what the audit log needs beside it.
type verdict struct {
	openssh.Decision
	Admin bool
	Stale bool
}

// decide is the machine's own decision for a login whose certificate passed
// openssh.CheckCert. c may be nil (nothing cached). It allows only a user the cached Login
// names by object id and by local name, not blocked, whose certificate's methods meet a
// Conditional Access combination, while the cache is within its time to live.
func decide(c *loginCache, now time.Time, l openssh.Login) verdict {
	if c == nil {
		return refused("this machine has no login rules from the control plane yet")
	}
	ttl := time.Duration(c.Login.TTLSeconds) * time.Second
	if age := now.Sub(c.ConfirmedAt); age > ttl {
		return refused(fmt.Sprintf("control plane unreachable since %s and the cached rules expired",
			c.ConfirmedAt.UTC().Format(time.RFC3339)))
	}
	if c.TenantID != "" && !strings.EqualFold(c.TenantID, l.TenantID) {
		return refused(reasonNotAllowed + " (the certificate is for another tenant)")
	}
	u, ok := findUser(c.Login.Users, l)
	if !ok {
		return refused(fmt.Sprintf("%s (%s has no Virtual Machine User Login or Administrator Login role on %s)",
			reasonNotAllowed, orUnknown(l.KeyID.UPN, l.User), vmName(c.ResourceID)))
	}
	if u.Block != "" {
		return refused(fmt.Sprintf("%s (blocked by Conditional Access policy %q)", reasonNotAllowed, u.Block))
	}
	if !methodsMeet(l.Cert.Extensions[token.SSHCertExtensionMethods], u.Requirements) {
		return refused(fmt.Sprintf("%s (Conditional Access requires %s; the sign-in used %q)",
			reasonMethod, describeRequirements(u.Requirements), l.Cert.Extensions[token.SSHCertExtensionMethods]))
	}
	v := verdict{Decision: openssh.Decision{Allow: true, Reason: "allowed by the Virtual Machine User Login role"}, Admin: u.Admin}
	if u.Admin {
		v.Reason = "allowed by the Virtual Machine Administrator Login role"
	}
	if now.Sub(c.ConfirmedAt) > staleAfter {
		v.Stale = true
		v.Reason += fmt.Sprintf("; decided from cached rules: control plane not heard since %s",
			c.ConfirmedAt.UTC().Format(time.RFC3339))
	}
	return v
}

func refused(reason string) verdict { return verdict{Decision: openssh.Decision{Reason: reason}} }

// findUser is the Login's user with the certificate's object id, and only when the account
// asked for is that user's local name: a certificate of one user never opens another's account.
func findUser(users []machineapi.LoginUser, l openssh.Login) (machineapi.LoginUser, bool) {
	i := slices.IndexFunc(users, func(u machineapi.LoginUser) bool { return strings.EqualFold(u.ObjectID, l.ObjectID) })
	if i < 0 || l.ObjectID == "" || users[i].LocalName != l.User {
		return machineapi.LoginUser{}, false
	}
	return users[i], true
}

// methodsMeet reports whether the comma-separated methods include every method of at least
// one combination; no combinations means no requirement.
func methodsMeet(methods string, combos [][]string) bool {
	if len(combos) == 0 {
		return true
	}
	have := strings.Split(methods, ",")
	return slices.ContainsFunc(combos, func(combo []string) bool {
		return len(combo) > 0 && !slices.ContainsFunc(combo, func(m string) bool { return !slices.Contains(have, m) })
	})
}

func describeRequirements(combos [][]string) string {
	var parts []string
	for _, c := range combos {
		parts = append(parts, strings.Join(c, "+"))
	}
	return strings.Join(parts, " or ")
}

// vmName is the last segment of a VM's resource id, as people name it.
func vmName(resourceID string) string {
	if i := strings.LastIndexByte(resourceID, '/'); i >= 0 {
		return resourceID[i+1:]
	}
	return orUnknown(resourceID, "this machine")
}

func orUnknown(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// decideFunc is the openssh.DecideFunc over the Login's current cache; it hands the verdict
// to seen for the audit log.
func (lg *Login) decideFunc(seen func(verdict)) openssh.DecideFunc {
	return func(_ context.Context, l openssh.Login) (openssh.Decision, error) {
		v := decide(lg.snapshot(), lg.now(), l)
		if v.Allow {
			v = lg.checkAccount(v, l)
		}
		seen(v)
		return v.Decision, nil
	}
}

// checkAccount refuses an allowed login whose local account was not made for this user:
// when a UPN moves to another person, the old account (and its files) keeps its UID.
func (lg *Login) checkAccount(v verdict, l openssh.Login) verdict {
	lookup := lg.lookupUID
	if lookup == nil {
		lookup = systemUID
	}
	uid, err := lookup(l.User)
	switch {
	case err != nil:
		return refused(fmt.Sprintf("the local account %s is not set up yet: %v", l.User, err))
	case !uidBelongs(l.ObjectID, uid):
		return refused(fmt.Sprintf("the local account %s (UID %d) was made for another directory user", l.User, uid))
	}
	return v
}

func systemUID(name string) (int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Uid)
}
