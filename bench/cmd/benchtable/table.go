package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// row is one measured line of the table: which benchmark, and which of its metrics is the rate.
type row struct {
	label, bench, unit string
	latency            bool
}

const signBench = "BenchmarkSignES256"

var rows = []row{
	{"ES256 signature (crypto/ecdsa)", signBench, "signs/s", false},
	{"token.Service.Sign", "BenchmarkTokenServiceSign", "tokens/s", false},
	{"client credentials, SQLite", "BenchmarkClientCredentials/sqlite", "issuances/s", true},
	{"client credentials, PostgreSQL", "BenchmarkClientCredentials/postgres", "issuances/s", true},
}

// Published per-core client-credentials rates of peers on the same kind of machine.
var peers = []struct {
	label   string
	perCore float64
}{
	{"Dex (RS256), published", 900},
	{"Ory Hydra, published", 1600},
}

// goalRatio is the goal: issuance at least half the signing rate of the same run.
const goalRatio = 0.5

func writeTable(w io.Writer, r *run, cores int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\trate/s\tper core (÷%d)\tof ES256 rate\tp50\tp99\t\n", pad(""), cores)
	sign := r.results[signBench][rows[0].unit]
	var notes []string
	for _, row := range rows {
		res, ok := r.results[row.bench]
		if !ok {
			status, why := r.missing(row.bench)
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\n", pad(row.label), status)
			if why != "" {
				notes = append(notes, row.label+": "+why)
			}
			continue
		}
		rate := res[row.unit]
		p50, p99 := "", ""
		if row.latency {
			p50, p99 = millis(res["p50-us"]), millis(res["p99-us"])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", pad(row.label), count(rate), count(rate/float64(cores)),
			ratio(rate, sign), p50, p99)
	}
	if sign > 0 {
		goal := sign * goalRatio
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t\t\n", pad(fmt.Sprintf("goal: %.0f%% of the ES256 rate", goalRatio*100)), count(goal),
			count(goal/float64(cores)), ratio(goal, sign))
	}
	for _, p := range peers {
		fmt.Fprintf(tw, "%s\t\t%s\t\t\t\t\n", pad(p.label), count(p.perCore))
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	for _, row := range rows[2:] {
		if res, ok := r.results[row.bench]; ok && sign > 0 {
			verdict := "meets"
			if res[row.unit] < sign*goalRatio {
				verdict = "is below"
			}
			fmt.Fprintf(w, "%s %s the goal.\n", row.label, verdict)
		}
	}
}

// missing says what became of a benchmark that has no result, and why when go test said.
func (r *run) missing(bench string) (status, why string) {
	for _, f := range r.failed {
		if f == bench || strings.HasPrefix(bench, f+"/") {
			return "FAILED", "see the go test output above"
		}
	}
	for name, why := range r.skipped {
		if name == bench || strings.HasPrefix(bench, name+"/") {
			return "skipped", why
		}
	}
	return "not run", ""
}

// pad left-aligns a label in a table whose other columns are right-aligned.
func pad(label string) string { return fmt.Sprintf("%-32s", label) }

// count formats n with thousands separators and no decimals.
func count(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ratio(n, of float64) string {
	if of <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", n/of)
}

func millis(us float64) string {
	if us == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f ms", us/1000)
}
