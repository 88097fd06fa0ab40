#!/usr/bin/env bash
# Goal-state fan-out: N simulated agents long-poll the control plane (in this process, on the
# same cores) and one role assignment at the subscription must reach all of them.
# Usage: bash bench/goalstate.sh [agents] [rounds]   (defaults 10000 and 3). Each agent holds
# two descriptors (both ends of its connection are in the one process): past about half the
# hard open-file limit (ulimit -Hn) the process needs CAP_SYS_RESOURCE to raise it.
set -euo pipefail
cd "$(dirname "$0")/.."
agents="${1:-10000}"
rounds="${2:-3}"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(go version | cut -d' ' -f3), kernel $(uname -r)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'), agents $agents, rounds $rounds"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
LATCH_BENCH_AGENTS="$agents" LATCH_BENCH_ROUNDS="$rounds" \
  go test -run '^$' -bench '^BenchmarkGoalStateFanOut$' -benchtime 1x -count 1 -timeout 3h -v ./bench |
  grep -E '^(Benchmark|---|    |PASS|FAIL|ok)'
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"
