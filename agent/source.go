package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/latchsh/latch/imds"
)

// selfTTL is how long the agent trusts what the control plane said of the machine's
// identity; an identity removed on the server stops being listed within it.
const selfTTL = 30 * time.Second

// Source is the metadata service's view of this machine: its VM from the saved state, its
// identity and tokens from the control plane. It is safe for concurrent use.
type Source struct {
	c *Client

	mu      sync.Mutex
	self    selfInfo
	fetched time.Time
}

// selfInfo is the answer of GET /machines/self.
type selfInfo struct {
	TenantID   string `json:"tenantId"`
	ResourceID string `json:"resourceId"`
	Compute    struct {
		Location, Name, VMID, VMSize, OSType, ComputerName, AdminUsername string
		Publisher, Offer, SKU, Version                                    string
		Tags                                                              map[string]string
	} `json:"compute"`
	Identity *struct {
		PrincipalID string `json:"principalId"`
		ClientID    string `json:"clientId"`
		TenantID    string `json:"tenantId"`
	} `json:"identity"`
}

// NewSource returns a Source that asks the control plane through c.
func NewSource(c *Client) *Source { return &Source{c: c} }

var _ imds.Source = (*Source)(nil)

// Instance describes the VM as its resource says.
func (s *Source) Instance(ctx context.Context) (imds.Instance, error) {
	self, err := s.selfInfo(ctx)
	if err != nil {
		return imds.Instance{}, err
	}
	id := s.c.st.ResourceID
	sub, rg, name := armParts(id)
	v := self.Compute
	c := imds.Compute{AzEnvironment: "AzurePublicCloud", Provider: "Microsoft.Compute", ResourceID: id,
		SubscriptionID: sub, ResourceGroupName: rg, Name: name, Location: v.Location, VMID: v.VMID,
		VMSize: v.VMSize, OSType: v.OSType, Publisher: v.Publisher, Offer: v.Offer, SKU: v.SKU, Version: v.Version,
		OSProfile: imds.OSProfile{ComputerName: v.ComputerName, AdminUsername: v.AdminUsername}}
	for k, val := range v.Tags {
		c.Tags = append(c.Tags, imds.Tag{Name: k, Value: val})
	}
	slices.SortFunc(c.Tags, func(a, b imds.Tag) int { return strings.Compare(a.Name, b.Name) })
	return imds.Instance{Compute: c}, nil
}

// armParts reads the subscription, resource group and name of a VM's ARM id.
func armParts(id string) (sub, rg, name string) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(parts); i += 2 {
		switch strings.ToLower(parts[i]) {
		case "subscriptions":
			sub = parts[i+1]
		case "resourcegroups":
			rg = parts[i+1]
		}
	}
	return sub, rg, parts[len(parts)-1]
}

// Identities lists the VM's system-assigned identity, or none.
func (s *Source) Identities(ctx context.Context) ([]imds.Identity, error) {
	self, err := s.selfInfo(ctx)
	if err != nil || self.Identity == nil {
		return nil, err
	}
	return []imds.Identity{{ClientID: self.Identity.ClientID, ObjectID: self.Identity.PrincipalID,
		TenantID: self.Identity.TenantID, SystemAssigned: true}}, nil
}

// selfInfo answers from memory while it is younger than selfTTL.
func (s *Source) selfInfo(ctx context.Context) (selfInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.fetched.IsZero() && s.c.now().Sub(s.fetched) < selfTTL {
		return s.self, nil
	}
	var self selfInfo
	if err := s.c.call(ctx, http.MethodGet, "/machines/self", nil, &self); err != nil {
		return selfInfo{}, err
	}
	s.self, s.fetched = self, s.c.now()
	return self, nil
}

// Token asks the control plane for a token for the VM's identity. Its refusals become the
// metadata service's: identity_not_found is imds.ErrIdentityNotFound, invalid_resource is
// imds.ErrInvalidResource.
func (s *Source) Token(ctx context.Context, id imds.Identity, resource string, bypassCache bool) (imds.Token, error) {
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresOn   int64  `json:"expires_on"`
		ObjectID    string `json:"object_id"`
	}
	err := s.c.call(ctx, http.MethodPost, "/machines/token", map[string]string{"resource": resource}, &out)
	var api *APIError
	switch {
	case errors.As(err, &api) && api.Code == "identity_not_found":
		s.forget()
		return imds.Token{}, fmt.Errorf("%w: %s", imds.ErrIdentityNotFound, api.Message)
	case errors.As(err, &api) && api.Code == "invalid_resource":
		return imds.Token{}, fmt.Errorf("%w: %s", imds.ErrInvalidResource, api.Message)
	case err != nil:
		return imds.Token{}, err
	case out.ObjectID != id.ObjectID:
		s.forget()
		return imds.Token{}, fmt.Errorf("%w: the machine's identity changed", imds.ErrIdentityNotFound)
	}
	return imds.Token{AccessToken: out.AccessToken, ExpiresOn: time.Unix(out.ExpiresOn, 0)}, nil
}

// forget drops what the agent knows of the identity, so the next request asks again.
func (s *Source) forget() {
	s.mu.Lock()
	s.fetched = time.Time{}
	s.mu.Unlock()
}
