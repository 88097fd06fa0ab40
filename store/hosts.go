package store

import (
	"context"
	"slices"
	"strings"
	"time"
)

// The remembered-hosts rule of the article: a person allows the connection to a machine the
// first time, and Latch remembers up to MaxRememberedHosts machines per person for
// RememberHostFor before asking again.
const (
	MaxRememberedHosts = 15
	RememberHostFor    = 30 * 24 * time.Hour
)

// RememberedHost is one machine a person allowed connecting to.
type RememberedHost struct {
	ResourceID string    `json:"resourceId"` // the VM's ARM resource id, as first allowed
	Name       string    `json:"name"`       // the VM's name, for prompts and listings
	AllowedAt  time.Time `json:"allowedAt"`  // when the person last said yes; the 30 days count from here
	LastUsed   time.Time `json:"lastUsed"`   // the last connection; the least recent goes first
}

// RememberedHosts is one person's list. Its methods are the rule above; they take the time
// so the caller's clock decides, and never change the receiver.
type RememberedHosts []RememberedHost

// Find returns the entry for resourceID (compared case-insensitively, as ARM compares ids)
// allowed no longer than RememberHostFor before now.
func (hs RememberedHosts) Find(resourceID string, now time.Time) (RememberedHost, bool) {
	for _, h := range hs {
		if strings.EqualFold(h.ResourceID, resourceID) && fresh(h, now) {
			return h, true
		}
	}
	return RememberedHost{}, false
}

// Allow returns the list with resourceID allowed at now (added, or its consent renewed),
// expired entries dropped and, past MaxRememberedHosts, the least recently used evicted.
func (hs RememberedHosts) Allow(resourceID, name string, now time.Time) RememberedHosts {
	out := hs.without(resourceID, now)
	out = append(out, RememberedHost{ResourceID: resourceID, Name: name, AllowedAt: now, LastUsed: now})
	slices.SortStableFunc(out, func(a, b RememberedHost) int { return b.LastUsed.Compare(a.LastUsed) })
	if len(out) > MaxRememberedHosts {
		out = out[:MaxRememberedHosts]
	}
	return out
}

// Use returns the list with resourceID's LastUsed set to now, expired entries dropped. A host
// not remembered is not added: only Allow adds.
func (hs RememberedHosts) Use(resourceID string, now time.Time) RememberedHosts {
	h, ok := hs.Find(resourceID, now)
	out := hs.without(resourceID, now)
	if ok {
		h.LastUsed = now
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(a, b RememberedHost) int { return b.LastUsed.Compare(a.LastUsed) })
	return out
}

// without copies the fresh entries other than resourceID.
func (hs RememberedHosts) without(resourceID string, now time.Time) RememberedHosts {
	out := make(RememberedHosts, 0, len(hs)+1)
	for _, h := range hs {
		if fresh(h, now) && !strings.EqualFold(h.ResourceID, resourceID) {
			out = append(out, h)
		}
	}
	return out
}

// fresh: allowed less than RememberHostFor ago. A time ahead of now counts as fresh, because
// it comes from another replica whose clock runs a little ahead, not from the future.
func fresh(h RememberedHost, now time.Time) bool {
	return now.Sub(h.AllowedAt) < RememberHostFor
}

// HostStore keeps each person's remembered hosts. Same error rules as Store.
type HostStore interface {
	// GetRememberedHosts returns the list of (tenantID, userID) as stored, possibly with
	// expired entries (RememberedHosts.Find skips them); an empty list when there is none.
	GetRememberedHosts(ctx context.Context, tenantID, userID string) (RememberedHosts, error)
	// UpdateRememberedHosts is compare-and-swap on the person's list, creating it when absent
	// (fn then gets an empty list). Invalid when fn returns more than MaxRememberedHosts.
	UpdateRememberedHosts(ctx context.Context, tenantID, userID string, fn func(RememberedHosts) (RememberedHosts, error)) (RememberedHosts, error)
}
