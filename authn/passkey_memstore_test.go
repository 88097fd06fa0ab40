package authn

import (
	"context"
	"encoding/base64"
	"sync"
	"time"

	"github.com/latchsh/latch/errs"
)

// memStore is an in-memory PasskeyStore, TOTPStore and AttemptStore with the same error
// kinds and single-use rules as the real store, so authn's tests need no database. The real
// stores pass their own conformance suite.
type memStore struct {
	mu         sync.Mutex
	passkeys   map[string]Passkey // tenant|id
	challenges map[string]Challenge
	totps      map[string]TOTPMethod
	attempts   map[string]AttemptCounter
}

func newMemStore() *memStore {
	return &memStore{passkeys: map[string]Passkey{}, challenges: map[string]Challenge{},
		totps: map[string]TOTPMethod{}, attempts: map[string]AttemptCounter{}}
}

func (m *memStore) CreatePasskey(_ context.Context, p Passkey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range m.passkeys {
		if q.TenantID == p.TenantID && (q.ID == p.ID || string(q.CredentialID) == string(p.CredentialID)) {
			return errs.E("mem.CreatePasskey", errs.Exists, "exists")
		}
	}
	p.Version = 1
	m.passkeys[p.TenantID+"|"+p.ID] = p
	return nil
}

func (m *memStore) GetPasskeyByCredentialID(_ context.Context, tenantID string, id []byte) (Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range m.passkeys {
		if q.TenantID == tenantID && len(id) > 0 && string(q.CredentialID) == string(id) {
			return q, nil
		}
	}
	return Passkey{}, errs.E("mem.GetPasskeyByCredentialID", errs.NotFound, base64.RawURLEncoding.EncodeToString(id))
}

func (m *memStore) ListPasskeys(_ context.Context, tenantID, userID string) ([]Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Passkey
	for _, q := range m.passkeys {
		if q.TenantID == tenantID && q.UserID == userID {
			out = append(out, q)
		}
	}
	return out, nil
}

func (m *memStore) UpdatePasskey(_ context.Context, tenantID, id string, fn func(Passkey) (Passkey, error)) (Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := tenantID + "|" + id
	cur, ok := m.passkeys[k]
	if !ok {
		return Passkey{}, errs.E("mem.UpdatePasskey", errs.NotFound, id)
	}
	nv, err := fn(cur)
	if err != nil {
		return Passkey{}, err
	}
	nv.TenantID, nv.ID, nv.Version = tenantID, id, cur.Version+1
	m.passkeys[k] = nv
	return nv, nil
}

func (m *memStore) CreateChallenge(_ context.Context, c Challenge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := c.TenantID + "|" + c.ID
	if _, ok := m.challenges[k]; ok {
		return errs.E("mem.CreateChallenge", errs.Exists, "exists")
	}
	m.challenges[k] = c
	return nil
}

func (m *memStore) ConsumeChallenge(_ context.Context, tenantID, id string, now time.Time) (Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := tenantID + "|" + id
	c, ok := m.challenges[k]
	if !ok {
		return Challenge{}, errs.E("mem.ConsumeChallenge", errs.NotFound, "used or unknown")
	}
	delete(m.challenges, k)
	if !now.Before(c.Expires) {
		return Challenge{}, errs.E("mem.ConsumeChallenge", errs.Expired, "expired")
	}
	return c, nil
}

func (m *memStore) UpdateTOTP(_ context.Context, tenantID, id string, fn func(TOTPMethod) (TOTPMethod, error)) (TOTPMethod, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := tenantID + "|" + id
	cur, ok := m.totps[k]
	if !ok {
		return TOTPMethod{}, errs.E("mem.UpdateTOTP", errs.NotFound, id)
	}
	nv, err := fn(cur)
	if err != nil {
		return TOTPMethod{}, err
	}
	nv.Version = cur.Version + 1
	m.totps[k] = nv
	return nv, nil
}

func (m *memStore) UpdateAttempts(_ context.Context, tenantID, key string, fn func(AttemptCounter) (AttemptCounter, error)) (AttemptCounter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := tenantID + "|" + key
	cur, ok := m.attempts[k]
	if !ok {
		cur = AttemptCounter{Key: key, TenantID: tenantID}
	}
	nv, err := fn(cur)
	if err != nil {
		return AttemptCounter{}, err
	}
	nv.Version = cur.Version + 1
	m.attempts[k] = nv
	return nv, nil
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
