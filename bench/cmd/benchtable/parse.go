package main

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// result is one benchmark line: its metrics by unit ("ns/op", "issuances/s", "p50-us", …).
type result map[string]float64

// run is everything one go test -bench invocation printed that the table needs.
type run struct {
	results map[string]result // by name without the -GOMAXPROCS suffix
	skipped map[string]string // benchmark name → the reason it gave
	failed  []string
}

// procsSuffix is the "-2" go test appends to a benchmark's name when GOMAXPROCS is 2.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads go test -bench output. Lines it does not know are ignored, so -v output and the
// package's PASS/ok lines may be mixed in.
func parse(r io.Reader) (*run, error) {
	out := &run{results: map[string]result{}, skipped: map[string]string{}}
	sc := bufio.NewScanner(r)
	pendingSkip := ""
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if pendingSkip != "" && trimmed != "" && !strings.HasPrefix(trimmed, "---") {
			out.skipped[pendingSkip] = skipReason(trimmed)
			pendingSkip = ""
			continue
		}
		pendingSkip = ""
		switch {
		case strings.HasPrefix(trimmed, "--- SKIP: "):
			pendingSkip = strings.Fields(strings.TrimPrefix(trimmed, "--- SKIP: "))[0]
			out.skipped[pendingSkip] = "skipped"
		case strings.HasPrefix(trimmed, "--- FAIL: "):
			out.failed = append(out.failed, strings.Fields(strings.TrimPrefix(trimmed, "--- FAIL: "))[0])
		case strings.HasPrefix(line, "Benchmark"):
			if name, res, ok := parseLine(line); ok {
				out.results[name] = res
			}
		}
	}
	return out, sc.Err()
}

// parseLine splits "BenchmarkX/y-2  1000  1234 ns/op  5.6 unit …" into its name and metrics.
func parseLine(line string) (string, result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return "", nil, false
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return "", nil, false
	}
	res := result{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		res[f[i+1]] = v
	}
	return procsSuffix.ReplaceAllString(f[0], ""), res, true
}

// skipReason drops the "file_test.go:12: " prefix go test puts before a skip message.
func skipReason(s string) string {
	if i := strings.Index(s, ": "); i > 0 && strings.Contains(s[:i], ".go:") {
		return s[i+2:]
	}
	return s
}

// complete reports whether the run produced every row of the table without failures.
func (r *run) complete() bool {
	if len(r.failed) > 0 {
		return false
	}
	for _, row := range rows {
		if _, ok := r.results[row.bench]; !ok {
			return false
		}
	}
	return true
}
