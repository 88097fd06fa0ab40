// Command benchtable reads the output of the issuance benchmarks (go test -bench in ./bench)
// on standard input, copies it to standard output, and then prints the table bench/RESULTS.md
// records: each rate for the whole machine and per core, its ratio to the ES256 signing rate
// measured in the same run, latency percentiles, the goal, and the peers' published figures.
//
// It computes ratios only from numbers of one run; it never compares against stored timings.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
)

func main() {
	cores := flag.Int("cores", runtime.NumCPU(), "cores of the machine, for the per-core figures (nproc)")
	flag.Parse()
	if *cores < 1 {
		fmt.Fprintln(os.Stderr, "benchtable: -cores must be at least 1")
		os.Exit(2)
	}
	run, err := parse(io.TeeReader(bufio.NewReader(os.Stdin), os.Stdout))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	fmt.Println()
	writeTable(os.Stdout, run, *cores)
	if !run.complete() {
		os.Exit(1)
	}
}
