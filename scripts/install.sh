#!/usr/bin/env bash
# Installs what Latch's demo and tests need on a fresh Debian 12 machine with Go: the real
# outside programs the tests start themselves (PostgreSQL, OpenSSH, Chromium, the Azure CLI,
# wrk for the benchmarks). Safe to run again: it only installs what is missing, and refreshes
# the package lists once per run at most.
set -euo pipefail

packages=(postgresql openssh-server openssh-client sudo ca-certificates curl jq chromium azure-cli iproute2 socat wrk swtpm swtpm-tools)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install.sh: run as root, or install sudo first" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d keeps the packages from starting system services; the tests start their own.
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
  echo "install.sh: Go is not on PATH; install Go 1.26 or later first" >&2
  exit 1
fi
go mod download
echo "install.sh: ready" >&2
