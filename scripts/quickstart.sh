#!/usr/bin/env bash
# The main job, end to end on this machine: a Latch server on its embedded SQLite store, the
# owner signing in with the command line, a directory user created, a resource group and a VM
# with a managed identity made and the user given the Virtual Machine User Login role on it (the
# article's commands), and that user signing in with the device-code flow, approving it on the server's /devicelogin page as a person would
# in a browser (here with curl). Everything listens on loopback and is removed at the end
# unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

work=$(mktemp -d)
data="$work/data"
port="${PORT:-8443}"
url="https://localhost:$port"
bin="$work/latch"
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "build latch"
go build -o "$bin" ./cmd/latch

step "start the server (SQLite under $data)"
"$bin" serve --data "$data" --addr "127.0.0.1:$port" --url "$url" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
  [ -f "$data/bootstrap.json" ] && curl -fsS --cacert "$data/tls/ca.pem" "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
boot="$data/bootstrap.json"
tenant=$(jq -r .tenantId "$boot")
owner_app=$(jq -r .owner.appId "$boot")
owner_secret=$(jq -r .owner.secret "$boot")
ca="$data/tls/ca.pem"
echo "tenant $tenant, CA $ca" >&2

export LATCH_CONFIG_DIR="$work/owner"
step "the owner signs in: latch login --service-principal"
"$bin" login --server "$url" --ca-file "$ca" --service-principal -u "$owner_app" -p "$owner_secret" --tenant "$tenant" -o table

step "create a directory user: latch ad user create"
domain=$(jq -r .admin.userPrincipalName "$boot" | cut -d@ -f2)
upn="alice@$domain"
password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')Aa1!"
"$bin" ad user create --display-name "Alice Example" --user-principal-name "$upn" --password "$password" -o table

step "a resource group, a VM with a managed identity, and Alice allowed to log in to it"
"$bin" group create --name myResourceGroup --location southcentralus -o table
"$bin" vm create --resource-group myResourceGroup --name myVM --image Win2022Datacenter --assign-identity \
  --admin-username azureuser --admin-password "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')Aa1!" --query identity -o json
rg=$("$bin" group show --resource-group myResourceGroup --query id -o tsv)
"$bin" role assignment create --role "Virtual Machine User Login" --assignee "$upn" --scope "$rg" -o none
"$bin" role assignment list --resource-group myResourceGroup -o table

step "Alice signs in with the device code flow: latch login --use-device-code"
export LATCH_CONFIG_DIR="$work/alice"
"$bin" login --server "$url" --ca-file "$ca" --use-device-code --allow-no-subscriptions >"$work/alice.out" 2>"$work/alice.err" &
login_pid=$!
code=""
for _ in $(seq 1 100); do
  code=$(grep -o 'enter the code [A-Z0-9]*' "$work/alice.err" 2>/dev/null | awk '{print $4}') && [ -n "$code" ] && break
  sleep 0.1
done
[ -n "$code" ] || { cat "$work/alice.err" >&2; exit 1; }
cat "$work/alice.err" >&2
echo "(approving code $code on $url/devicelogin as Alice would in her browser)" >&2
jar="$work/alice.cookies"
page="$work/page.html"
# One step of the page: post the form fields with the CSRF token of the page before.
step_post() {
  local csrf
  csrf=$(grep -o 'name="csrf" value="[^"]*"' "$page" | head -1 | sed 's/.*value="//; s/"$//')
  curl -fsS --cacert "$ca" -b "$jar" -c "$jar" "$url/devicelogin" --data-urlencode "csrf=$csrf" "$@" -o "$page"
}
curl -fsS --cacert "$ca" -c "$jar" "$url/devicelogin" -o "$page"
step_post --data-urlencode "otc=$code" --data-urlencode "step=code"
step_post --data-urlencode "otc=$code" --data-urlencode "step=password" \
  --data-urlencode "username=$upn" --data-urlencode "credential=$password"
step_post --data-urlencode "otc=$code" --data-urlencode "step=confirm"
grep -o "You have signed in[^<]*" "$page" >&2 || { echo "the device login page did not confirm" >&2; exit 1; }
wait "$login_pid"

step "who is signed in: latch account show"
"$bin" account show -o table
"$bin" account show --query user.name -o tsv | grep -qx "$upn"
echo "OK: $upn signed in to $url" >&2
