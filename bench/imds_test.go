package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/latchsh/latch/imds"
)

// imdsSource is a machine with one system-assigned identity whose control plane answers at
// once; the benchmark asks for one resource, so after the first request every answer comes
// from the service's cache.
type imdsSource struct{}

var imdsIdentity = imds.Identity{ClientID: "aaaaaaaa-0000-4000-8000-000000000001",
	ObjectID: "11111111-1111-1111-1111-111111111111", TenantID: "abd8daee-d393-4239-9377-883adda3d40f", SystemAssigned: true}

func (imdsSource) Instance(context.Context) (imds.Instance, error) { return imds.Instance{}, nil }
func (imdsSource) Identities(context.Context) ([]imds.Identity, error) {
	return []imds.Identity{imdsIdentity}, nil
}
func (imdsSource) Token(context.Context, imds.Identity, string, bool) (imds.Token, error) {
	return imds.Token{AccessToken: string(tokenSizedInput) + ".c2ln", ExpiresOn: time.Now().Add(24 * time.Hour)}, nil
}

// BenchmarkIMDSCachedToken is the cost of a cached managed-identity token over loopback HTTP
// with keep-alive, as azidentity asks for it. Azure's per-identity limits (20/s, 5 in
// flight) are raised: they are policy, and would measure the limiter's refusals instead.
func BenchmarkIMDSCachedToken(b *testing.B) {
	s := imds.New(imdsSource{}, imds.Config{IdentityRate: 1e9, IdentityConcurrency: 1 << 20})
	ln, err := s.ListenLoopback("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	url := "http://" + ln.Addr().String() + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
	if err := imdsGet(client, url); err != nil { // fills the cache
		b.Fatal(err)
	}
	// Two loads: as many clients as the token benchmarks use, for the rate; and one client per
	// core, for the latency a program sees when the machine is not saturated.
	for _, perCore := range []int{clientsPerCore, 1} {
		b.Run(fmt.Sprintf("clients-per-core=%d", perCore), func(b *testing.B) { measureIMDS(b, client, url, perCore) })
	}
}

func measureIMDS(b *testing.B, client *http.Client, url string, perCore int) {
	b.SetParallelism(perCore)
	runLoad(b, "tokens", "IMDS requests", func() error { return imdsGet(client, url) })
}

func imdsGet(client *http.Client, url string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Metadata", "true")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return err
}
