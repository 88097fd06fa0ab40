package sqlite_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/token"
)

// Several processes sharing one database file must see single-use state exactly as goroutines
// of one process do: SQLite's file locks, not Go's, are what the store relies on.

const (
	childEnv      = "LATCH_SQLITE_CROSS_PROCESS"
	children      = 4
	perChild      = 20
	crossCode     = "cross-code"
	crossRefresh  = "cross-rt"
	crossFamilyRT = "cross-family-rt"
	crossJTI      = "issuer|cross-jti"
)

var crossNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

type childResult struct {
	Redeemed, Rotated, JTIs int
	Unexpected              []string
}

func TestCrossProcessSingleUse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	seedCrossProcess(t, path)
	start := time.Now().Add(2 * time.Second).UnixNano() // all children begin together
	results := make([]childResult, children)
	var wg sync.WaitGroup
	for i := range children {
		wg.Go(func() { results[i] = runChild(t, path, start) })
	}
	wg.Wait()
	var total childResult
	for _, r := range results {
		total.Redeemed += r.Redeemed
		total.Rotated += r.Rotated
		total.JTIs += r.JTIs
		total.Unexpected = append(total.Unexpected, r.Unexpected...)
	}
	if total.Redeemed != 1 || total.Rotated != 1 || total.JTIs != 1 || len(total.Unexpected) > 0 {
		t.Fatalf("across %d processes: %+v, want exactly one of each and no other errors", children, total)
	}
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rt, err := s.GetRefreshToken(t.Context(), crossFamilyRT)
	if err != nil || rt.Status != token.RefreshRevoked {
		t.Fatalf("the replayed code's refresh token: %+v, %v; want revoked", rt, err)
	}
}

func seedCrossProcess(t *testing.T, path string) {
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateAuthCode(ctx, token.AuthCode{Hash: crossCode, FamilyID: "fam-code", Expires: crossNow.Add(time.Hour)}))
	must(s.CreateRefreshToken(ctx, token.RefreshToken{Hash: crossFamilyRT, FamilyID: "fam-code", Expires: crossNow.Add(time.Hour)}))
	must(s.CreateRefreshToken(ctx, token.RefreshToken{Hash: crossRefresh, FamilyID: "fam-rt", Expires: crossNow.Add(time.Hour)}))
}

func runChild(t *testing.T, path string, start int64) childResult {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrossProcessChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+path+"|"+strconv.FormatInt(start, 10))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("child: %v\n%s", err, out)
		return childResult{}
	}
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "RESULT "); ok {
			var r childResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				t.Errorf("child result %q: %v", rest, err)
			}
			return r
		}
	}
	t.Errorf("child printed no result:\n%s", out)
	return childResult{}
}

// TestCrossProcessChild is the body of one child process of TestCrossProcessSingleUse.
func TestCrossProcessChild(t *testing.T) {
	path, startStr, ok := strings.Cut(os.Getenv(childEnv), "|")
	if !ok {
		t.Skip("runs only as a child of TestCrossProcessSingleUse")
	}
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start, _ := strconv.ParseInt(startStr, 10, 64)
	time.Sleep(time.Until(time.Unix(0, start)))
	var mu sync.Mutex
	var r childResult
	count := func(n *int, err error, allowed ...errs.Kind) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			*n++
			return
		}
		for _, k := range allowed {
			if errs.Is(err, k) {
				return
			}
		}
		r.Unexpected = append(r.Unexpected, err.Error())
	}
	var wg sync.WaitGroup
	for i := range perChild {
		wg.Go(func() {
			_, err := s.RedeemAuthCode(t.Context(), crossCode, crossNow)
			count(&r.Redeemed, err, errs.Conflict)
			next := token.RefreshToken{Hash: fmt.Sprintf("next-%d-%d", os.Getpid(), i), Expires: crossNow.Add(time.Hour)}
			_, err = s.RotateRefreshToken(t.Context(), crossRefresh, next, crossNow)
			count(&r.Rotated, err, errs.Conflict)
			count(&r.JTIs, s.UseJTI(t.Context(), crossJTI, crossNow.Add(time.Hour), crossNow), errs.Exists)
		})
	}
	wg.Wait()
	b, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", b)
}
