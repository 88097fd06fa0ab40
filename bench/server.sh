#!/usr/bin/env bash
# Measures `latch serve` as a separate process, loaded by wrk as a separate load generator:
# client-credentials issuances per second of the SERVER's CPU time (wrk's own CPU left out),
# with SQLite and with PostgreSQL, beside the ES256 signing rate per CPU-second measured in the
# same run. Also the wall-clock rate and wrk's p50/p99 over keep-alive HTTPS.
#
# Usage: bash bench/server.sh [duration] [rounds] [--profile] [--worktree] [--signin-log]
#   duration   of each timed wrk round (default 10s; wrk syntax: 10s, 1m)
#   rounds     timed rounds per store, and -count of the signing benchmark (default 3)
#   --profile  after the timed rounds, one more round per store under `perf record` of the
#              server process; prints where its CPU goes (needs perf: apt-get install linux-perf)
#   --worktree build the checkout as it is; by default the committed HEAD is built, so that
#              unfinished edits in the tree neither break nor change the measurement
#   --signin-log what the sign-in log costs issuance: per store, two servers side by side, one
#              with the log and one started with LATCH_INSECURE_BENCH_NO_SIGNIN_LOG=1 (no log),
#              measured in alternating rounds; prints the ratio with/without (no signing run)
# Environment: THREADS (wrk threads, default 2), CONNS (connections, default 16), SERVER_GOGC
# (GOGC for the server only; the signing benchmark keeps Go's default).
#
# Everything runs on 127.0.0.1 and is removed on exit: the server, the PostgreSQL cluster and
# the temporary directories. Rates depend on what else the machine is doing; compare the
# per-CPU-second columns, and only numbers from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

duration=10s rounds=3 profile=0 worktree=0 ratio=0
positional=()
for a in "$@"; do
  case "$a" in
    --profile) profile=1 ;;
    --worktree) worktree=1 ;;
    --signin-log) ratio=1 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "server.sh: unknown option $a" >&2; exit 2 ;;
    *) positional+=("$a") ;;
  esac
done
duration=${positional[0]:-$duration}
rounds=${positional[1]:-$rounds}
threads=${THREADS:-2}
conns=${CONNS:-16}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "server.sh: rounds must be a positive number, not $rounds" >&2; exit 2; }
clk=$(getconf CLK_TCK)
cores=$(nproc)

say() { echo "server.sh: $*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_tools installs wrk when it is missing (scripts/install.sh lists it too) and checks
# for the rest.
ensure_tools() {
  if ! command -v wrk >/dev/null; then
    say "installing wrk"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
      { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
  fi
  local t
  for t in go jq curl wrk git; do
    command -v "$t" >/dev/null || die "$t is not installed; run: bash scripts/install.sh"
  done
  if [ "$profile" -eq 1 ] && ! command -v perf >/dev/null; then
    die "--profile needs perf: apt-get install -y linux-perf"
  fi
}

# --- processes and cleanup -------------------------------------------------------------------

tmp="" pgtmp="" latch_pid="" pg_pid="" pg_runner="" other_pid=""

# stop ends one process this script started: TERM (INT for PostgreSQL: fast shutdown), then
# KILL if it has not gone after 15 seconds.
stop() {
  local pid=$1 sig=${2:-TERM} i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  set +e
  stop "$latch_pid"
  stop "$other_pid"
  stop "$pg_pid" INT
  stop "$pg_runner"
  [ -n "$tmp" ] && rm -rf "$tmp"
  [ -n "$pgtmp" ] && rm -rf "$pgtmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback port nothing listens on.
free_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port on 127.0.0.1"
}

# --- CPU accounting from /proc -----------------------------------------------------------------

# ticks prints utime+stime of one process, all its threads, in clock ticks; with "children"
# also cutime+cstime, the CPU of children it has waited for.
ticks() {
  local f a
  { read -r f <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
  read -ra a <<<"${f##*) }" # a[0] is field 3 (state), so field n is a[n-3]
  if [ "${2:-}" = children ]; then
    echo $((a[11] + a[12] + a[13] + a[14]))
  else
    echo $((a[11] + a[12]))
  fi
}

# pg_ticks is the CPU of the PostgreSQL cluster: the postmaster, its live children (backends,
# checkpointer, walwriter, …) and the children it has already reaped.
pg_ticks() {
  [ -n "$pg_pid" ] || { echo 0; return; }
  local sum f a stat
  sum=$(ticks "$pg_pid" children)
  for stat in /proc/[0-9]*/stat; do
    { read -r f <"$stat"; } 2>/dev/null || continue
    read -ra a <<<"${f##*) }"
    [ "${a[1]}" = "$pg_pid" ] && sum=$((sum + a[11] + a[12]))
  done
  echo "$sum"
}

# machine prints busy and total ticks of all cores since boot (iowait counts as idle).
machine() {
  local _cpu u n s idle iow irq sirq steal rest
  read -r _cpu u n s idle iow irq sirq steal rest </proc/stat
  echo "$((u + n + s + irq + sirq + steal)) $((u + n + s + idle + iow + irq + sirq + steal))"
}

tcp_opens() { awk '/^Tcp:/ && ++n == 2 { print $7 }' /proc/net/snmp; } # PassiveOpens

# --- the server --------------------------------------------------------------------------------

# build puts latch in $tmp and the source the signing benchmark runs from in $src.
build() {
  if [ "$worktree" -eq 1 ]; then
    src=$repo
    commit="$(git rev-parse --short HEAD) + uncommitted changes"
  else
    src=$tmp/src
    mkdir -p "$src"
    git archive HEAD | tar -x -C "$src"
    commit=$(git rev-parse --short HEAD)
  fi
  say "building latch at $commit"
  (cd "$src" && go build -o "$tmp/latch" ./cmd/latch && go test -c -o "$tmp/bench.test" ./bench) ||
    die "the build failed; with --worktree, unfinished edits in the tree may be the cause"
}

# start_latch DATA [LATCH_DATABASE [NOLOG]]: starts the server on a free port, waits for /healthz,
# and sets url, endpoint and TOKEN_FORM from DATA/bootstrap.json.
start_latch() {
  local data=$1 db=${2:-} nolog=${3:-} port i
  port=$(free_port)
  url=https://127.0.0.1:$port
  # A clean environment: no LATCH_* setting of the caller's reaches the measured server.
  env -i PATH="$PATH" HOME="${HOME:-/root}" LATCH_DATABASE="$db" ${SERVER_GOGC:+GOGC=$SERVER_GOGC} \
    ${nolog:+LATCH_INSECURE_BENCH_NO_SIGNIN_LOG=1} \
    "$tmp/latch" serve --data "$data" --addr "127.0.0.1:$port" --url "$url" 2>"$data.log" &
  latch_pid=$!
  for ((i = 0; i < 600; i++)); do
    kill -0 "$latch_pid" 2>/dev/null || { tail -20 "$data.log" >&2; die "latch serve exited"; }
    [ -f "$data/tls/ca.pem" ] && curl -fsS --max-time 2 --cacert "$data/tls/ca.pem" "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  ((i < 600)) || { tail -20 "$data.log" >&2; die "latch serve did not become healthy in 60 s"; }
  local boot=$data/bootstrap.json
  endpoint=$url/$(jq -er .tenantId "$boot")/oauth2/v2.0/token
  TOKEN_FORM=$(jq -er --arg scope "$url/arm//.default" \
    '"grant_type=client_credentials&client_id=\(.owner.appId|@uri)&client_secret=\(.owner.secret|@uri)&scope=\($scope|@uri)"' "$boot")
  export TOKEN_FORM
}

stop_latch() {
  stop "$latch_pid"
  latch_pid=""
}

# --- PostgreSQL ----------------------------------------------------------------------------------

pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres runs a throwaway cluster on 127.0.0.1 (fsync off: durability is not what is
# measured, and the in-process benchmarks use the same settings) and sets pg_url.
start_postgres() {
  local bin port i
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -1)
  [ -x "$bin/initdb" ] || bin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  [ -x "$bin/initdb" ] || die "PostgreSQL is not installed; run: bash scripts/install.sh"
  pgtmp=$(mktemp -d -t latch-bench-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres: "$pgtmp"
  pg_as env LC_ALL=C "$bin/initdb" -D "$pgtmp/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C --no-sync >"$pgtmp/initdb.log" 2>&1 || { cat "$pgtmp/initdb.log" >&2; die "initdb failed"; }
  port=$(free_port)
  pg_as env LC_ALL=C TZ=UTC "$bin/postgres" -D "$pgtmp/data" -k "$pgtmp" -p "$port" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=200 >"$pgtmp/postgres.log" 2>&1 &
  pg_runner=$!
  for ((i = 0; i < 600; i++)); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    kill -0 "$pg_runner" 2>/dev/null || { cat "$pgtmp/postgres.log" >&2; die "postgres exited"; }
    sleep 0.1
  done
  ((i < 600)) || die "PostgreSQL did not accept connections in 60 s"
  pg_pid=$(head -1 "$pgtmp/data/postmaster.pid")
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres latch
  pg_url="postgres://postgres@127.0.0.1:$port/latch?sslmode=disable"
  if [ "$ratio" -eq 1 ]; then
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres latch_nolog
    pg_url_nolog="postgres://postgres@127.0.0.1:$port/latch_nolog?sslmode=disable"
  fi
}

# --- measuring -----------------------------------------------------------------------------------

# load runs wrk for $1 and leaves its output in $out and its user+system CPU seconds in $wrk_cpu.
load() {
  local TIMEFORMAT='%3U %3S' status=0 t
  out=$tmp/wrk.out
  { time wrk -t"$threads" -c"$conns" -d"$1" --timeout 10s --latency -s "$repo/bench/wrk/token.lua" "$endpoint" >"$out" 2>&1; } 2>"$tmp/wrk.time" || status=$?
  if [ "$status" -ne 0 ] || ! grep -q '^result ' "$out"; then
    cat "$out" >&2
    die "wrk failed (exit $status)"
  fi
  read -ra t <"$tmp/wrk.time"
  wrk_cpu=$(awk -v u="${t[0]}" -v s="${t[1]}" 'BEGIN { print u + s }')
  local bad
  bad=$(sed -n 's/^result .* bad=\([0-9]*\) .*/\1/p' "$out")
  if [ "$bad" != 0 ] || grep -Eq 'errors=[1-9]|timeouts=[1-9]' "$out"; then
    cat "$out" >&2
    die "$bad answers were not a 200 with an access token, or wrk saw socket errors: the run does not count"
  fi
}

# round STORE N: one timed wrk round against the running server; appends a row to $rows with
# the requests, wrk's duration and percentiles, and the CPU ticks each party used meanwhile.
round() {
  local m0 m1 l0 l1 p0 p1 o0 o1 r
  read -ra m0 < <(machine); l0=$(ticks "$latch_pid"); p0=$(pg_ticks); o0=$(tcp_opens)
  load "$duration"
  read -ra m1 < <(machine); l1=$(ticks "$latch_pid"); p1=$(pg_ticks); o1=$(tcp_opens)
  r=$(sed -n 's/^result //p' "$out")
  echo "store=$1 round=$2 $r latch=$((l1 - l0)) pg=$((p1 - p0)) wrk=$wrk_cpu busy=$((m1[0] - m0[0])) total=$((m1[1] - m0[1])) opens=$((o1 - o0))" >>"$rows"
  show_round "$(tail -1 "$rows")"
}

# show_round prints one row of $rows as a line a person reads.
show_round() {
  awk -v clk="$clk" -v cores="$cores" '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      wall = v["duration_us"] / 1e6; n = v["requests"]
      srv = (v["latch"] + v["pg"]) / clk
      others = (v["busy"] - v["latch"] - v["pg"]) / clk - v["wrk"]
      printf "  %-10s round %d: %6d req in %.1fs  %6.0f/s  server %6.0f per CPU-s (latch %4.0f%%, postgres %3.0f%% of the machine)  wrk %3.0f%%  others %3.0f%%  p50 %.2f ms  p99 %.2f ms  new TCP conns on the machine %d\n",
        v["store"], v["round"], n, wall, n / wall, n / srv,
        100 * v["latch"] / v["total"], 100 * v["pg"] / v["total"], 100 * v["wrk"] * clk / v["total"],
        100 * (others > 0 ? others : 0) * clk / v["total"], v["p50_us"] / 1000, v["p99_us"] / 1000, v["opens"]
    }' <<<"$1" >&2
}

# measure_store STORE DATA [DATABASE]: starts the server, warms it up (the first request
# verifies the secret with argon2id; pools fill), runs the timed rounds, profiles if asked.
measure_store() {
  local store=$1 i
  start_latch "$2" "${3:-}"
  say "$store: server pid $latch_pid at $url; warming up for 3s"
  load 3s
  for ((i = 1; i <= rounds; i++)); do
    round "$store" "$i"
  done
  [ "$profile" -eq 1 ] && profile_server "$store"
  stop_latch
}

# use_server PID OTHER_PID ENDPOINT FORM: the next round loads the server PID; both
# stay known to cleanup.
use_server() {
  latch_pid=$1 other_pid=$2 endpoint=$3 TOKEN_FORM=$4
  export TOKEN_FORM
}

# measure_ratio STORE DATA [DATABASE DATABASE_NOLOG]: the sign-in log's cost on one store. Two
# servers run side by side, one with the log and one without (each its own data directory or
# database), both warmed up; then `rounds` pairs of timed rounds, the pair's order alternating,
# so that a change in what else the machine does meets both halves alike.
measure_ratio() {
  local store=$1 i on off
  start_latch "$2" "${3:-}"
  on=("$latch_pid" "$endpoint" "$TOKEN_FORM")
  start_latch "$2-nolog" "${4:-}" nolog
  off=("$latch_pid" "$endpoint" "$TOKEN_FORM")
  say "$store: server with the sign-in log pid ${on[0]}, without pid ${off[0]}; warming both up for 3s"
  use_server "${on[0]}" "${off[0]}" "${on[1]}" "${on[2]}"; load 3s
  use_server "${off[0]}" "${on[0]}" "${off[1]}" "${off[2]}"; load 3s
  for ((i = 1; i <= rounds; i++)); do
    if ((i % 2)); then
      use_server "${on[0]}" "${off[0]}" "${on[1]}" "${on[2]}"; round "$store" "$i"
      use_server "${off[0]}" "${on[0]}" "${off[1]}" "${off[2]}"; round "$store-nolog" "$i"
    else
      use_server "${off[0]}" "${on[0]}" "${off[1]}" "${off[2]}"; round "$store-nolog" "$i"
      use_server "${on[0]}" "${off[0]}" "${on[1]}" "${on[2]}"; round "$store" "$i"
    fi
  done
  stop "$latch_pid"; stop "$other_pid"
  latch_pid="" other_pid=""
  say "$store: sign-in log entries after the run: $(count_sign_ins "$2" "${3:-}") with the log, $(count_sign_ins "$2-nolog" "${4:-}") without"
}

# count_sign_ins DATA [DATABASE]: the entries in a stopped server's sign-in log, which shows the
# server with the log wrote one per issuance and the one without wrote none ("?" without the
# sqlite3 or psql client).
count_sign_ins() {
  local q='SELECT count(*) FROM sign_ins'
  if [ -n "${2:-}" ]; then
    command -v psql >/dev/null && psql -Atqc "$q" "$2" 2>/dev/null || echo "?"
  else
    command -v sqlite3 >/dev/null && sqlite3 "$1/latch.db" "$q" 2>/dev/null || echo "?"
  fi
}

# ratio_table reads $rows of a --signin-log run: per store and round the issuance rate with the
# log over the rate without it (wall-clock, and per CPU-second of the server), then the medians.
ratio_table() {
  awk -v clk="$clk" '
    function med(a, n,   i, j, t) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
      delete v
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      s = v["store"]; r = v["round"] + 0; n = v["requests"]
      wall[s, r] = n / (v["duration_us"] / 1e6)
      cpu[s, r] = n / ((v["latch"] + v["pg"]) / clk)
      lcpu[s, r] = n / (v["latch"] / clk)
      if (r > rounds) rounds = r
    }
    END {
      split("sqlite postgres", order, " ")
      printf "\n%-10s %5s %12s %12s %7s %14s %14s %7s %14s\n", "store", "round", "wall/s log", "wall/s none", "ratio", "per CPU-s log", "per CPU-s none", "ratio", "latch-only ratio"
      for (o = 1; o <= 2; o++) {
        s = order[o]; k = 0
        for (r = 1; r <= rounds; r++) {
          if (!((s, r) in wall) || !((s "-nolog", r) in wall)) continue
          k++
          rw[k] = wall[s, r] / wall[s "-nolog", r]; rc[k] = cpu[s, r] / cpu[s "-nolog", r]; rl[k] = lcpu[s, r] / lcpu[s "-nolog", r]
          printf "%-10s %5d %12.0f %12.0f %7.3f %14.0f %14.0f %7.3f %14.3f\n", s, r, wall[s, r], wall[s "-nolog", r], rw[k], cpu[s, r], cpu[s "-nolog", r], rc[k], rl[k]
        }
        if (k) printf "%-10s %5s %12s %12s %7.3f %14s %14s %7.3f %14.3f   (medians of the rounds'"'"' ratios)\n", s, "all", "", "", med(rw, k), "", "", med(rc, k), med(rl, k)
      }
      printf "\nratio: issuances with the sign-in log over issuances without it, of the same round pair.\n"
      printf "per CPU-s: issuances per CPU-second of latch serve plus, with PostgreSQL, the PostgreSQL processes.\n"
    }' "$rows"
}

# profile_server records the server's stacks with perf during one more wrk round and prints
# where its CPU goes: split into the parts of an issuance, then the busiest functions.
profile_server() {
  local data=$tmp/perf-$1.data secs
  secs=$(awk -v d="$duration" 'BEGIN { d += 0; print (d > 4 ? d - 2 : 2) }')
  say "$1: profiling the server for ${secs}s under load"
  wrk -t"$threads" -c"$conns" -d"$duration" -s "$repo/bench/wrk/token.lua" "$endpoint" >"$tmp/wrk-profile.out" 2>&1 &
  local wrk_pid=$!
  sleep 1
  perf record -q -e cpu-clock -F 999 -g -p "$latch_pid" -o "$data" -- sleep "$secs" 2>/dev/null
  wait "$wrk_pid" || true
  {
    echo
    echo "== latch serve ($1) under wrk: share of the server's CPU samples"
    perf script -i "$data" -F ip,sym 2>/dev/null | awk "$split_awk"
    echo "== busiest functions by their own samples"
    perf report -i "$data" --no-children --sort symbol --stdio -g none --percent-limit 1.5 2>/dev/null |
      grep -v '^#' | grep -v '^$' | sed 's/ *- *- *$//' | head -15 || true
    echo
  } >&2
}

# split_awk reads `perf script -F ip,sym` (one sample per paragraph, leaf first) and prints the
# share of samples in each part of the server's work. A sample belongs to the first part, in the
# order below, whose function is on its stack. ECDSA's assembly leaves no frame chain; leaves
# of P-256, SHA-512 (the nonce DRBG) and the FIPS ECDSA code count as the signature.
split_awk='
BEGIN {
  RS = ""; FS = "\n"
  n = split("crypto/ecdsa.Sign|ES256 signature (crypto/ecdsa.Sign);" \
    "token.(*Service).Sign|token service around the signature (claims, JSON, base64);" \
    "slog.(*Logger).logAttrs|per-request log line (slog JSON to stderr);" \
    "httpapi.(*Server).authenticateClient|client authentication (secret check, cached client);" \
    "httpapi.(*Server).lookupTenant|tenant lookup (cached);" \
    "httpapi.parseForm|form parsing;" \
    "httpapi.writeJSON|response JSON;" \
    "httpapi.(*Server).handleToken|rest of the token handler;" \
    "net/http.(*response).finishRequest|response write: TLS record + write(2), loopback delivery to wrk included;" \
    "net/http.(*conn).readRequest|request read: read(2), TLS record, HTTP parsing;" \
    "bufio.(*Reader).Peek|start of the next request: read(2), TLS record (bufio Peek);" \
    "(*Metrics).Middleware|middleware: metrics, correlation id, two ServeMux routings;" \
    "net/http.(*conn).serve|rest of net/http;" \
    "runtime.gcBgMarkWorker|garbage collector (background marking);" \
    "runtime.schedule|scheduler (runtime and kernel)", parts, ";")
  for (i = 1; i <= n; i++) { split(parts[i], kv, "|"); key[i] = kv[1]; name[i] = kv[2] }
}
{
  total++; got = 0
  for (i = 1; i <= n && !got; i++)
    for (f = 1; f <= NF; f++)
      if (index($f, key[i])) { count[i]++; got = 1; break }
  if (index($0, "process_backlog")) loopback++
  if (!got) {
    leaf = $1; sub(/^[ \t]*[0-9a-f]+ /, "", leaf)
    if (leaf ~ /p256|nistec|sha512|fips140\/ecdsa|bigmod/) count[1]++
    else other++
  }
}
END {
  if (!total) { print "  no samples"; exit }
  for (i = 1; i <= n; i++) printf "  %5.1f%%  %s\n", 100 * count[i] / total, name[i]
  printf "  %5.1f%%  other (runtime threads, stack growth, parking)\n", 100 * other / total
  printf "  of all samples, %.1f%% are the kernel delivering to the peer socket (loopback softirq in write(2))\n", 100 * loopback / total
  printf "  %d samples\n", total
}'

# sign runs the ES256 signing benchmark, `rounds` times, in one go test run.
sign() {
  say "ES256 signing rate: BenchmarkSignES256, -benchtime 3s -count $rounds"
  (cd "$src/bench" && "$tmp/bench.test" -test.run x -test.bench '^BenchmarkSignES256$' \
    -test.benchtime 3s -test.count "$rounds") >"$tmp/sign.out" 2>&1 ||
    { cat "$tmp/sign.out" >&2; die "the signing benchmark failed"; }
  awk '/^BenchmarkSignES256/ {
      for (i = 2; i < NF; i++) { if ($(i+1) == "signs/cpu-s") c = $i; if ($(i+1) == "signs/s") w = $i; if ($(i+1) == "machine-cpu-%") m = $i; if ($(i+1) == "cpu-%") p = $i }
      printf "store=sign round=%d signs_per_cpu_s=%s signs_per_s=%s cpu_pct=%s machine_pct=%s\n", ++n, c, w, p, m
    }' "$tmp/sign.out" >>"$rows"
  grep '^BenchmarkSignES256' "$tmp/sign.out" | sed 's/^/  /' >&2
}

# --- the table -----------------------------------------------------------------------------------

# table reads $rows: for each store the round with the median issuances per server CPU-second
# stands for the store, and the spread over all rounds follows it.
table() {
  awk -v clk="$clk" -v cores="$cores" '
    function med(a, n,   i, j, t) {   # sorts a[1..n] in place, returns the lower median index
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
      return int((n + 1) / 2)
    }
    {
      delete v
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      s = v["store"]
      if (s == "sign") { ns++; sg[ns] = v["signs_per_cpu_s"]; sw[ns] = v["signs_per_s"]; sc[ns] = v["cpu_pct"]; so[ns] = v["machine_pct"] - v["cpu_pct"]; next }
      wall = v["duration_us"] / 1e6; n = v["requests"]
      k = ++cnt[s]
      total[s, k] = n / ((v["latch"] + v["pg"]) / clk)
      others = v["busy"] - v["latch"] - v["pg"] - v["wrk"] * clk
      key[s, k] = total[s, k] " " n / (v["latch"] / clk) " " v["pg"] / clk " " n / wall " " v["p50_us"] / 1000 " " v["p99_us"] / 1000 " " 100 * (v["latch"] + v["pg"]) / v["total"] " " 100 * (others > 0 ? others : 0) / v["total"] " " 100 * v["pg"] / v["total"]
    }
    END {
      for (i = 1; i <= ns; i++) sgs[i] = sg[i]
      m = med(sgs, ns); sign = sgs[m]
      for (i = 1; i <= ns; i++) if (sg[i] == sign) { signwall = sw[i]; signcpu = sc[i]; signothers = so[i] }
      printf "\n%-46s %12s %9s %9s %14s %9s %9s %8s %8s\n", "", "per CPU-s", "of ES256", "wall/s", "wall/s ÷ " cores, "p50", "p99", "CPU %", "others"
      printf "%-46s %12s %9s %9s %14s %9s %9s %7.0f%% %7.0f%%\n", "ES256 signature (crypto/ecdsa, both cores)", fmt(sign), "1.00", fmt(signwall), fmt(signwall / cores), "", "", signcpu, (signothers > 0 ? signothers : 0)
      split("sqlite postgres", order, " ")
      for (o = 1; o <= 2; o++) {
        s = order[o]; if (!(s in cnt)) continue
        for (i = 1; i <= cnt[s]; i++) t[i] = total[s, i]
        mi = med(t, cnt[s]); lo = t[1]; hi = t[cnt[s]]
        for (i = 1; i <= cnt[s]; i++) if (total[s, i] == t[mi]) { split(key[s, i], f, " "); break }
        name = (s == "sqlite") ? "issuance, SQLite (server CPU)" : "issuance, PostgreSQL (latch + postgres CPU)"
        printf "%-46s %12s %9.2f %9s %14s %6.2f ms %6.2f ms %7.0f%% %7.0f%%\n", name, fmt(f[1]), f[1] / sign, fmt(f[4]), fmt(f[4] / cores), f[5], f[6], f[7], f[8]
        spread[s] = sprintf("%s to %s over %d rounds", fmt(lo), fmt(hi), cnt[s])
        q = 1; for (i = 2; i <= cnt[s]; i++) { split(key[s, i], g, " "); split(key[s, q], h, " "); if (g[8] < h[8]) q = i }
        split(key[s, q], g, " ")
        printf "%-46s %12s %9.2f %9s %14s %6.2f ms %6.2f ms %7.0f%% %7.0f%%\n", "  its least disturbed round", fmt(g[1]), g[1] / sign, fmt(g[4]), fmt(g[4] / cores), g[5], g[6], g[7], g[8]
        if (s == "postgres") {
          printf "%-46s %12s %9.2f\n", "  the same, latch CPU only", fmt(f[2]), f[2] / sign
          printf "  (the PostgreSQL processes used %.2f CPU-s in that round, %.1f%% of the machine)\n", f[3], f[9]
        }
      }
      printf "%-46s %12s %9s\n", "goal: half the ES256 rate", fmt(sign / 2), "0.50"
      printf "%-46s %12s\n", "Dex (RS256), published, per core", "900"
      printf "%-46s %12s\n", "Ory Hydra, published, per core", "1,600"
      printf "\nper CPU-s: operations per second of CPU time of the server alone (wrk excluded), i.e. per fully used core.\n"
      printf "Each store row is its round with the median per CPU-s; others: CPU share of the machine used by other processes.\n"
      printf "spread of issuance per server CPU-s: "
      sep = ""
      for (o = 1; o <= 2; o++) if (order[o] in spread) { printf "%s%s %s", sep, order[o], spread[order[o]]; sep = "; " }
      lo = sg[1]; hi = sg[1]; for (i = 2; i <= ns; i++) { if (sg[i] < lo) lo = sg[i]; if (sg[i] > hi) hi = sg[i] }
      printf "; ES256 %s to %s over %d runs\n", fmt(lo), fmt(hi), ns
    }
    function fmt(x,   s, r) {      # 12345.6 -> 12,346
      s = sprintf("%.0f", x); r = ""
      while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
      return s r
    }' "$rows"
}

# --- main ----------------------------------------------------------------------------------------

ensure_tools
tmp=$(mktemp -d -t latch-bench-server.XXXXXX)
rows=$tmp/rows
: >"$rows"
build

echo "machine: $cores cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(go version | cut -d' ' -f3), kernel $(uname -r)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'), latch at $commit"
echo "load:    wrk -t$threads -c$conns -d$duration, $rounds rounds per store${SERVER_GOGC:+, server GOGC=$SERVER_GOGC}; load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"

if [ "$ratio" -eq 1 ]; then
  measure_ratio sqlite "$tmp/data-sqlite"
  start_postgres
  measure_ratio postgres "$tmp/data-postgres" "$pg_url" "$pg_url_nolog"
  ratio_table
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after the run"
  exit 0
fi
sign
measure_store sqlite "$tmp/data-sqlite"
start_postgres
measure_store postgres "$tmp/data-postgres" "$pg_url"
table
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after the run"
