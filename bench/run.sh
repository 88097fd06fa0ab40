#!/usr/bin/env bash
# Measures token issuance against the machine's ES256 signing rate, all in one go test run,
# and prints the table bench/RESULTS.md records. Usage: bash bench/run.sh [benchtime]
# (default 4s per benchmark). Extra go test flags may follow, e.g. -cpuprofile cpu.out.
#
# Timings depend on everything else the machine is doing; run it on an idle machine and
# compare only numbers from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."

benchtime="${1:-4s}"
shift || true

if ! command -v go >/dev/null; then
  echo "run.sh: Go is not on PATH; install Go 1.26 or later, then run scripts/install.sh" >&2
  exit 1
fi

pattern='^(BenchmarkSignES256|BenchmarkTokenServiceSign|BenchmarkClientCredentials)$'
if ! command -v initdb >/dev/null && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "run.sh: PostgreSQL is NOT installed, so the PostgreSQL row will be missing." >&2
  echo "run.sh: install it with: bash scripts/install.sh" >&2
fi

cores="$(nproc)"
echo "machine: ${cores} cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(go version | cut -d' ' -f3), kernel $(uname -r)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
echo

go build -o /dev/null ./bench/cmd/benchtable # fail before minutes of benchmarks, not after
set +e
go test -run '^$' -bench "$pattern" -benchtime "$benchtime" -count 1 -timeout 30m "$@" ./bench 2>&1 |
  go run ./bench/cmd/benchtable -cores "$cores"
status=("${PIPESTATUS[@]}")
set -e
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"
if [ "${status[0]}" -ne 0 ]; then
  echo "run.sh: go test failed (exit ${status[0]})" >&2
  exit "${status[0]}"
fi
exit "${status[1]}"
