package imds

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFloodDoesNotStarveAnotherIdentity: on a stopped clock, 100 requests for the user-assigned
// identity get Azure's 20 and then 429; the system-assigned identity still gets its own 20.
func TestFloodDoesNotStarveAnotherIdentity(t *testing.T) {
	s, _, clock := newTestServer(t, Config{}, systemID, userID)
	count := func(target string, n int) (ok, throttled int) {
		for range n {
			switch w := serve(s, target); w.Code {
			case 200:
				ok++
			case 429:
				if code, _ := errorBody(t, w); code != "too_many_requests" {
					t.Fatalf("429 body %s", w.Body)
				}
				throttled++
			default:
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		return
	}
	user := tokenPath + "?" + v18 + "&" + arm + "&client_id=" + userID.ClientID
	system := tokenPath + "?" + v18 + "&" + arm
	if ok, thr := count(user, 100); ok != 20 || thr != 80 {
		t.Fatalf("flood: %d answered, %d throttled; want 20 and 80", ok, thr)
	}
	if ok, _ := count(system, 20); ok != 20 {
		t.Fatalf("the other identity got %d of 20 during the flood", ok)
	}
	clock.Add(500 * time.Millisecond)
	if ok, _ := count(user, 20); ok != 10 {
		t.Fatalf("after half a second the flooded identity got %d, want 10", ok)
	}
}

// TestConcurrencyLimitPerIdentity: five requests for one identity waiting on a slow control
// plane are its limit; a sixth gets 429 at once, and the other identity is answered meanwhile.
func TestConcurrencyLimitPerIdentity(t *testing.T) {
	s, src, _ := newTestServer(t, Config{}, systemID, userID)
	release := make(chan struct{})
	src.mint = func(_ context.Context, id Identity, r string, _ bool) (Token, error) {
		if id.ObjectID == userID.ObjectID {
			<-release
		}
		return Token{AccessToken: testJWT, ExpiresOn: t0.Add(time.Hour)}, nil
	}
	var wg sync.WaitGroup
	var answered atomic.Int32
	for i := range 5 { // five resources: five calls in flight, none sharing
		wg.Go(func() {
			if serve(s, tokenPath+"?"+v18+"&resource=api://r"+string(rune('a'+i))+"&object_id="+userID.ObjectID).Code == 200 {
				answered.Add(1)
			}
		})
	}
	waitFor(t, "five requests in flight", func() bool { return s.idLim.inflight(userID.ObjectID) == 5 })
	if w := serve(s, tokenPath+"?"+v18+"&"+arm+"&object_id="+userID.ObjectID); w.Code != 429 {
		t.Errorf("sixth concurrent request: %d, want 429", w.Code)
	}
	if w := serve(s, tokenPath+"?"+v18+"&"+arm); w.Code != 200 {
		t.Errorf("other identity while the first is saturated: %d, want 200", w.Code)
	}
	close(release)
	wg.Wait()
	if answered.Load() != 5 {
		t.Errorf("%d of the five waiting requests answered", answered.Load())
	}
}

// TestInstanceRatePerCaller: Azure's 5 requests a second per caller on the instance paths.
func TestInstanceRatePerCaller(t *testing.T) {
	s, _, clock := newTestServer(t, Config{}, systemID)
	codes := func(mods ...mod) (out []int) {
		for range 6 {
			out = append(out, serve(s, "/metadata/instance?"+v21, mods...).Code)
		}
		return
	}
	if got := codes(); got[4] != 200 || got[5] != 429 {
		t.Fatalf("127.0.0.1: %v, want five 200 then 429", got)
	}
	if got := codes(remote("[::1]:5000")); got[4] != 200 {
		t.Fatalf("another caller address: %v", got)
	}
	if w := serve(s, tokenPath+"?"+v18+"&"+arm); w.Code != 200 {
		t.Fatalf("identity paths share no budget with instance paths: %d", w.Code)
	}
	clock.Add(time.Second)
	if w := serve(s, "/metadata/versions"); w.Code != 200 {
		t.Fatalf("after a second: %d", w.Code)
	}
}

// TestFloodOverLoopback is the same property on a real clock and real sockets: eight
// goroutines flood one identity for a second while another identity asks ten times a second.
func TestFloodOverLoopback(t *testing.T) {
	s, _, _ := newTestServer(t, Config{Now: time.Now}, systemID, userID)
	base := startLoopback(t, s)
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(q string) int {
		req, _ := http.NewRequest(http.MethodGet, base+tokenPath+"?"+v18+"&"+arm+q, nil)
		req.Header.Set("Metadata", "true")
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	stop := time.Now().Add(time.Second)
	var flood, floodOK atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				flood.Add(1)
				if get("&client_id="+userID.ClientID) == 200 {
					floodOK.Add(1)
				}
			}
		})
	}
	var other []int
	for range 10 {
		other = append(other, get(""))
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	for i, c := range other {
		if c != 200 {
			t.Errorf("other identity request %d: %d during the flood", i, c)
		}
	}
	// 20 at once and 20 more over the second; a little slack for the second's edges.
	if flood.Load() <= floodOK.Load() || floodOK.Load() > 45 {
		t.Errorf("flood: %d requests, %d answered; want some throttled and at most about 40 answered", flood.Load(), floodOK.Load())
	}
}
