package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/latchsh/latch/bench
cpu: Example CPU @ 2.00GHz
BenchmarkSignES256-2                	  100000	     30000 ns/op	  98.00 cpu-%	  99.00 machine-cpu-%	  34000 signs/cpu-s	     33333 signs/s	    2800 B/op	      35 allocs/op
BenchmarkTokenServiceSign-2         	   80000	     40000 ns/op	     25000 tokens/s
BenchmarkClientCredentials/sqlite-2 	   20000	    200000 ns/op	  60.00 cpu-%	  99.00 machine-cpu-%	  8500 issuances/cpu-s	      5000 issuances/s	      2900 p50-us	     9100 p99-us
--- SKIP: BenchmarkClientCredentials/postgres
    fixture_test.go:80: PostgreSQL is not installed: run scripts/install.sh
--- FAIL: BenchmarkOther
BenchmarkBroken-2 	 notanumber	 1 ns/op
PASS
ok  	github.com/latchsh/latch/bench	30.1s
`

func TestParse(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bench, unit string
		want        float64
	}{
		{"BenchmarkSignES256", "signs/s", 33333},
		{"BenchmarkSignES256", "allocs/op", 35},
		{"BenchmarkTokenServiceSign", "tokens/s", 25000},
		{"BenchmarkClientCredentials/sqlite", "issuances/s", 5000},
		{"BenchmarkClientCredentials/sqlite", "p99-us", 9100},
		{"BenchmarkClientCredentials/sqlite", "issuances/cpu-s", 8500},
		{"BenchmarkClientCredentials/sqlite", "machine-cpu-%", 99},
	} {
		if got := r.results[c.bench][c.unit]; got != c.want {
			t.Errorf("%s %s = %v, want %v", c.bench, c.unit, got, c.want)
		}
	}
	if _, ok := r.results["BenchmarkBroken"]; ok {
		t.Error("a line whose iteration count is not a number was taken as a result")
	}
	if got, want := r.skipped["BenchmarkClientCredentials/postgres"], "PostgreSQL is not installed: run scripts/install.sh"; got != want {
		t.Errorf("skip reason %q, want %q", got, want)
	}
	if len(r.failed) != 1 || r.failed[0] != "BenchmarkOther" {
		t.Errorf("failed = %v, want [BenchmarkOther]", r.failed)
	}
	if r.complete() {
		t.Error("a run with a skipped backend and a failure counts as complete")
	}
}

func TestTable(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	writeTable(&b, r, 2)
	out := b.String()
	for _, want := range []string{
		"33,333", "16,666", // signing rate, and per core (16,666.5 rounds to even)
		"2,500", "0.15", // SQLite per core, and its share of the signing rate
		"2.90 ms", "9.10 ms",
		"8,333", // the goal per core: half the signing rate
		"skipped", "PostgreSQL is not installed",
		"8,500", "0.25", // SQLite per CPU-second, and its share of signatures per CPU-second
		"60%",
		"client credentials, SQLite: other processes kept 39% of the machine busy",
		"client credentials, SQLite is below the goal by wall-clock rate (0.15) and is below it per CPU-second (0.25).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[float64]string{0: "", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", 16500: "16,500"} {
		if got := count(n); got != want {
			t.Errorf("count(%v) = %q, want %q", n, got, want)
		}
	}
}
