package bench

import (
	"flag"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// reportRate reports b.N operations in elapsed as a rate per second of wall time, which for
// b.RunParallel is the rate of the whole machine, not of one core.
func reportRate(b *testing.B, unit string, elapsed time.Duration) {
	if elapsed > 0 {
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit)
	}
}

// reportLatency reports the median and 99th percentile of the observed request times in
// microseconds.
func reportLatency(b *testing.B, all []time.Duration) {
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(micros(percentile(all, 50)), "p50-us")
	b.ReportMetric(micros(percentile(all, 99)), "p99-us")
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100 // ceil(n*p/100), 1-based
	return sorted[max(i-1, 0)]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// failures counts failed requests from many goroutines and keeps the first error.
type failures struct {
	mu    sync.Mutex
	n     int
	first error
}

func (f *failures) note(err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.first = err
	}
	f.n++
}

func (f *failures) result() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.first
}

// wanted reports whether -test.bench lets b's sub-benchmark sub run, so that a run limited to
// one backend does not set up the other (PostgreSQL takes seconds to start). Only the first
// level below the top is looked at, as that is where the backends are.
func wanted(b *testing.B, sub string) bool {
	f := flag.Lookup("test.bench")
	if f == nil {
		return true
	}
	parts := strings.Split(f.Value.String(), "/")
	if len(parts) < 2 || parts[1] == "" {
		return true
	}
	re, err := regexp.Compile(parts[1])
	if err != nil {
		b.Fatalf("-test.bench: %v", err)
	}
	return re.MatchString(sub)
}
