// Package agent is the machine side of Latch: it onboards a machine with a one-time token
// (Connect), keeps the machine's key pair and what the control plane said of it (State), and
// serves the instance metadata service with tokens the control plane mints for the machine's
// managed identity (Source, Run).
//
// It speaks to the control plane only over its HTTP API, signing every request with the
// machine's own key; it must not link the server's store or any database driver.
package agent
