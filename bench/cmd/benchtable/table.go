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

// cpuUnit is the per-CPU-second metric the benchmarks report beside a per-second rate.
func (r row) cpuUnit() string { return strings.TrimSuffix(r.unit, "/s") + "/cpu-s" }

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

// busyElsewhere is how much of the machine other processes may use during a benchmark before
// the table warns that its wall-clock rate understates what the machine can do.
const busyElsewhere = 10.0

func writeTable(w io.Writer, r *run, cores int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\trate/s\tper core (÷%d)\tof ES256\tper CPU-second\tof ES256\tCPU used\tp50\tp99\t\n", pad(""), cores)
	sign, signCPU := r.results[signBench][rows[0].unit], r.results[signBench][rows[0].cpuUnit()]
	var notes []string
	for _, row := range rows {
		res, ok := r.results[row.bench]
		if !ok {
			status, why := r.missing(row.bench)
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\n", pad(row.label), status)
			if why != "" {
				notes = append(notes, row.label+": "+why)
			}
			continue
		}
		rate, perCPU := res[row.unit], res[row.cpuUnit()]
		p50, p99 := "", ""
		if row.latency {
			p50, p99 = millis(res["p50-us"]), millis(res["p99-us"])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", pad(row.label), count(rate),
			count(rate/float64(cores)), ratio(rate, sign), count(perCPU), ratio(perCPU, signCPU),
			percent(res["cpu-%"]), p50, p99)
		if other := res["machine-cpu-%"] - res["cpu-%"]; res["machine-cpu-%"] > 0 && other > busyElsewhere {
			notes = append(notes, fmt.Sprintf("%s: other processes kept %.0f%% of the machine busy; "+
				"the per-CPU-second figures are the steadier ones.", row.label, other))
		}
	}
	if sign > 0 {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\n", pad(fmt.Sprintf("goal: %.0f%% of the ES256 rate", goalRatio*100)),
			count(sign*goalRatio), count(sign*goalRatio/float64(cores)), ratio(goalRatio, 1),
			count(signCPU*goalRatio), ratio(goalRatio, 1))
	}
	for _, p := range peers {
		fmt.Fprintf(tw, "%s\t\t%s\t\t\t\t\t\t\t\n", pad(p.label), count(p.perCore))
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	for _, row := range rows[2:] {
		res, ok := r.results[row.bench]
		if !ok || sign <= 0 {
			continue
		}
		fmt.Fprintf(w, "%s %s the goal by wall-clock rate (%.2f)", row.label, verdict(res[row.unit], sign), res[row.unit]/sign)
		if signCPU > 0 && res[row.cpuUnit()] > 0 {
			fmt.Fprintf(w, " and %s it per CPU-second (%.2f)", verdict(res[row.cpuUnit()], signCPU), res[row.cpuUnit()]/signCPU)
		}
		fmt.Fprintln(w, ".")
	}
}

func verdict(rate, sign float64) string {
	if rate >= sign*goalRatio {
		return "meets"
	}
	return "is below"
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

// count formats n with thousands separators and no decimals; "" for nothing measured.
func count(n float64) string {
	if n == 0 {
		return ""
	}
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
	if of <= 0 || n <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", n/of)
}

func percent(p float64) string {
	if p == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f%%", p)
}

func millis(us float64) string {
	if us == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f ms", us/1000)
}
