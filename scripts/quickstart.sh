#!/usr/bin/env bash
# The main job, end to end on this computer: sign in to a Linux machine over SSH with your
# directory identity.
#
#  1. A Latch server on its embedded SQLite store, on loopback.
#  2. The owner signs in; a directory user is created; a resource group and a Linux VM with a
#     system-assigned managed identity are made (the article's commands).
#  3. As root: a "machine" is made for the VM — a network namespace with its own sshd, its own
#     /etc/ssh and /etc/sudoers.d (this computer's sshd and files are untouched) — and the
#     onboarding command `latch vm create` printed is run in it, then the agent.
#  4. The login extension is set (`latch vm extension set … AADSSHLoginForLinux`, which waits
#     until the machine reports Succeeded) and the user gets Virtual Machine Administrator Login.
#  5. The user signs in without a password: the admin creates a Temporary Access Pass, the user
#     signs in with it once on the device-code page (here with curl, as a browser would),
#     registers this computer's device key (`latch passkey register --device`), signs out, and
#     signs in with the key alone (`latch login --passkey`).
#  6. `latch ssh vm` logs the user in to the machine and runs `id; sudo -n true && echo admin`.
#  7. Everything is torn down: the extension is deleted (the machine restores sshd and locks the
#     accounts it made), the accounts are removed, the agent, sshd, namespace and server stopped.
#
# Without root, steps 3, 4's extension and 6 cannot run (namespaces, sshd and local accounts
# need root): the script says so and does the rest, ending with `latch ssh cert`. KEEP=1 keeps
# the working directory for a look at the logs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
say() { echo "$*" >&2; }
random_secret() { echo "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')Aa1!"; }

work=$(mktemp -d)
data="$work/data"
port="${PORT:-8443}"
url="https://localhost:$port"
rg=myResourceGroup
vm=myVM
root=0
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v socat >/dev/null && [ -x /usr/sbin/sshd ]; then
  root=1
fi
pids=()
ns="" bindir="" sockdir="" local_name="" made_group=0 extension_set=0
export LATCH_CONFIG_DIR="$work/owner"

cleanup() {
  set +e
  if [ "$extension_set" = 1 ]; then
    say "== teardown: latch vm extension delete (the machine restores sshd and locks the accounts it made)"
    LATCH_CONFIG_DIR="$work/owner" "$bin" vm extension delete -g "$rg" --vm-name "$vm" -n AADSSHLoginForLinux -o none
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null
  done
  if [ -n "$local_name" ] && getent passwd "$local_name" >/dev/null; then
    userdel -r -f "$local_name" 2>/dev/null
    say "removed the account $local_name"
  fi
  [ "$made_group" = 1 ] && getent group latch-admins >/dev/null && groupdel latch-admins
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null && rm -rf "/etc/netns/$ns" && rmdir /etc/netns 2>/dev/null
  [ -n "$bindir" ] && rm -rf "$bindir"
  [ -n "$sockdir" ] && rm -rf "$sockdir"
  if [ "${KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step "build latch"
if [ "$root" = 1 ]; then
  # sshd runs the agent's principals command only from a root-owned path that no group or
  # other user can write, every directory up to / included: not from /tmp.
  bindir=/usr/local/libexec/latch-quickstart-$$
  mkdir -p -m 0755 "$bindir"
  bin="$bindir/latch"
else
  bin="$work/latch"
fi
go build -o "$bin" ./cmd/latch
chmod 0755 "$bin"

step "start the server (SQLite under $data)"
"$bin" serve --data "$data" --addr "127.0.0.1:$port" --url "$url" 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 1 100); do
  [ -f "$data/bootstrap.json" ] && curl -fsS --cacert "$data/tls/ca.pem" "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
boot="$data/bootstrap.json"
tenant=$(jq -r .tenantId "$boot")
ca="$data/tls/ca.pem"
say "tenant $tenant, CA $ca"

step "the owner signs in: latch login --service-principal"
"$bin" login --server "$url" --ca-file "$ca" --service-principal -u "$(jq -r .owner.appId "$boot")" \
  -p "$(jq -r .owner.secret "$boot")" --tenant "$tenant" -o table

step "create a directory user: latch ad user create"
domain=$(jq -r .admin.userPrincipalName "$boot" | cut -d@ -f2)
upn="alice@$domain"
"$bin" ad user create --display-name "Alice Example" --user-principal-name "$upn" --password "$(random_secret)" -o table

step "a resource group and a Linux VM with a managed identity: latch group create, latch vm create"
"$bin" group create --name "$rg" --location southcentralus -o table
onboarding=$("$bin" vm create --resource-group "$rg" --name "$vm" --image Debian:debian-12:12:latest --assign-identity \
  --admin-username azureuser --authentication-type password --admin-password "$(random_secret)" --query onboardingCommand -o tsv)
say "onboarding command: ${onboarding%%--token*}--token … --ca-file …"

# machine_up makes the machine: a namespace joined to this computer by a veth pair, its own
# /etc/ssh (sshd_config, a fresh host key, the drop-in directory) and /etc/sudoers.d, sshd,
# the server reachable at the same URL from inside, then the onboarding command and the agent.
machine_up() {
  ns="latch-qs-$$"
  local m="$work/machine" subnet="${SUBNET:-10.87.66}"
  mkdir -p -m 0755 "$m/ssh/sshd_config.d" && mkdir -m 0750 "$m/sudoers.d"
  ssh-keygen -q -t ed25519 -N '' -C "$vm" -f "$m/ssh/ssh_host_ed25519_key"
  cat >"$m/ssh/sshd_config" <<EOF
# The quickstart machine's sshd; /etc/ssh is $m/ssh inside its namespace.
Include /etc/ssh/sshd_config.d/*.conf
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile none
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AuthorizedKeysFile .ssh/authorized_keys
EOF
  ip netns add "$ns"
  mkdir -p "/etc/netns/$ns"
  ln -s "$m/ssh" "/etc/netns/$ns/ssh"
  ln -s "$m/sudoers.d" "/etc/netns/$ns/sudoers.d"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add 169.254.169.254/32 dev lo
  ip link add "lqs$$a" type veth peer name "lqs$$b"
  ip link set "lqs$$a" netns "$ns"
  ip -n "$ns" addr add "$subnet.1/24" dev "lqs$$a" && ip -n "$ns" link set "lqs$$a" up
  ip addr add "$subnet.2/24" dev "lqs$$b" && ip link set "lqs$$b" up
  mkdir -p -m 0755 /run/sshd
  ip netns exec "$ns" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config 2>"$work/sshd.log" &
  local sshd_pid=$!
  pids+=("$sshd_pid")
  # The server listens on this computer's loopback; inside the machine the same URL reaches it
  # through a socket file, which both sides see.
  socat UNIX-LISTEN:"$work/server.sock",fork,mode=600 TCP:127.0.0.1:"$port" 2>>"$work/socat.log" &
  pids+=($!)
  ip netns exec "$ns" socat TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$work/server.sock" 2>>"$work/socat.log" &
  pids+=($!)
  sleep 0.3
  local words
  read -r -a words <<<"$onboarding"
  [ "${words[0]} ${words[1]} ${words[2]}" = "latch agent connect" ] || { say "not an onboarding command: $onboarding"; exit 1; }
  ip netns exec "$ns" "$bin" "${words[@]:1}" --state-dir "$m/agent" >&2
  getent group latch-admins >/dev/null || made_group=1
  # Not under /run, which the agent gets a private one of (below); nobody (the principals
  # command's user) must reach it.
  sockdir=/var/lib/latch-quickstart-$$
  mkdir -p -m 0755 "$sockdir"
  # The agent gets a /run of its own holding sshd's pid (it reloads sshd through it) and the
  # privilege separation directory sshd -t checks; its decision socket stays reachable.
  ip netns exec "$ns" sh -c 'mount -t tmpfs -o mode=0755 latch-agent-run /run && mkdir -m 0755 /run/sshd &&
    echo "$0" >/run/sshd.pid && exec "$@"' "$sshd_pid" \
    "$bin" agent run --state-dir "$m/agent" --socket "$sockdir/decide.sock" 2>"$work/agent.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    ip netns exec "$ns" curl -fsS -H Metadata:true "http://169.254.169.254/metadata/instance?api-version=2021-02-01" >/dev/null 2>&1 && return
    sleep 0.1
  done
  cat "$work/agent.log" >&2
  exit 1
}

if [ "$root" = 1 ]; then
  step "the machine: a network namespace with its own sshd, the onboarding command, latch agent run"
  machine_up
  say "machine $ns up; agent log $work/agent.log, sshd log $work/sshd.log"
  step "the login extension: latch vm extension set --name AADSSHLoginForLinux (waits until Succeeded)"
  extension_set=1
  "$bin" vm extension set --publisher Microsoft.Azure.ActiveDirectory --name AADSSHLoginForLinux \
    --resource-group "$rg" --vm-name "$vm" --query "{name:name, provisioningState:provisioningState}" -o table
else
  step "not root: no machine"
  say "Making the machine (a network namespace with its own sshd), running its agent and setting"
  say "the login extension need root, ip, socat and /usr/sbin/sshd. The rest runs now; run the"
  say "script as root for the login itself."
fi

step "Alice may log in as administrator: latch role assignment create --role \"Virtual Machine Administrator Login\""
scope=$("$bin" group show --resource-group "$rg" --query id -o tsv)
"$bin" role assignment create --role "Virtual Machine Administrator Login" --assignee "$upn" --scope "$scope" -o none
[ "$root" = 1 ] && local_name=$(echo "$upn" | tr 'A-Z' 'a-z') # the account the machine makes for her
"$bin" role assignment list --resource-group "$rg" -o table

step "Alice signs in without a password"
tap=$("$bin" ad user tap create --upn "$upn" --one-time --lifetime 1h --query temporaryAccessPass -o tsv)
say "the admin made a one-time Temporary Access Pass for $upn"
export LATCH_CONFIG_DIR="$work/alice"
# The first connection to a machine asks the person to allow it (the article's remembered hosts,
# 15 machines for 30 days); the script answers yes up front.
export LATCH_SSH_ALLOW_HOST=true
"$bin" login --server "$url" --ca-file "$ca" --use-device-code --allow-no-subscriptions >"$work/alice.out" 2>"$work/alice.err" &
login_pid=$!
code=""
for _ in $(seq 1 100); do
  code=$(grep -o 'enter the code [A-Z0-9]*' "$work/alice.err" 2>/dev/null | awk '{print $4}') && [ -n "$code" ] && break
  sleep 0.1
done
[ -n "$code" ] || { cat "$work/alice.err" >&2; exit 1; }
say "(Alice enters code $code and her Temporary Access Pass on $url/devicelogin; curl plays her browser)"
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
  --data-urlencode "username=$upn" --data-urlencode "credential=$tap"
step_post --data-urlencode "otc=$code" --data-urlencode "step=confirm"
grep -o "You have signed in[^<]*" "$page" >&2 || { say "the device login page did not confirm"; exit 1; }
wait "$login_pid"
say "registering this computer's device key: latch passkey register --device"
"$bin" passkey register --device --name "quickstart on $(hostname)" -o none
"$bin" logout
say "signing in with the device key alone: latch login --passkey"
"$bin" login --passkey --server "$url" --ca-file "$ca" -o none
"$bin" account show --query user.name -o tsv
if [ -t 0 ] && [ -z "${CI:-}" ]; then
  say ""
  say "With a browser you can use a passkey of your own instead: open $url/security-info signed in"
  say "as $upn (latch login --server $url --ca-file $ca opens the page), add a passkey, then"
  say "'latch login' and choose it. The script itself keeps to the device key, which needs no one."
fi

if [ "$root" = 1 ]; then
  step "Alice logs in to the machine: latch ssh vm -g $rg -n $vm -- 'id; sudo -n true && echo admin'"
  # The VM's name has no DNS entry here: connect to the address the agent reported, checking
  # the host key pinned under the name.
  export LATCH_SSH_ADDRESS=reported
  out=""
  for _ in $(seq 1 50); do # the role reaches the machine with its next goal state
    out=$("$bin" ssh vm -g "$rg" -n "$vm" -- 'id; sudo -n true && echo admin' 2>"$work/ssh.err") && break
    sleep 0.2
  done
  [ -n "$out" ] || { cat "$work/ssh.err" "$work/agent.log" >&2; exit 1; }
  echo "$out"
  echo "$out" | grep -q "^uid=.*($local_name)" && echo "$out" | grep -qx admin ||
    { say "unexpected output"; exit 1; }
  say "OK: $upn logged in to $vm as $local_name, an administrator, with a 10-minute certificate"
else
  step "Alice's SSH certificate for the VM: latch ssh cert"
  "$bin" ssh cert -g "$rg" -n "$vm" --query "{principals:principals[0], validBefore:validBefore}" -o table
  say "OK: $upn signed in without a password and holds a certificate for $vm (logging in needs root, see above)"
fi
