#!/usr/bin/env bash
# Runs every test Latch has, against the real outside programs (PostgreSQL started on loopback
# by the tests themselves). Pass -short for the quick loop; CI runs the full set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# Screenshots of the sign-in pages taken by the browser test land here.
export LATCH_ARTIFACTS="${LATCH_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$LATCH_ARTIFACTS"
go vet ./...
go test -count=1 -timeout 40m "$@" ./...
