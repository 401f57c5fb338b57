#!/usr/bin/env bash
# Load test of contactsd, on loopback, that writes docs/performance.md.
#
#   bash tools/load/run.sh            # ~3 minutes with the defaults
#   LOAD_DURATION=30s bash tools/load/run.sh
#   LOAD_ONLY=memory bash tools/load/run.sh   # the memory tables only
#
# It builds contactsd, the emulator (cmd/contacts-emulator) and the floor
# (internal/loadfloor: a bare pass-through whose ListContacts is one
# upstream GET with the same client, and nothing else), starts them on
# 127.0.0.1, and drives their ListContacts with ghz, the version pinned in
# tools/go.mod (go tool -modfile=tools/go.mod ghz), which reads the API
# from clients/descriptors/contacts.binpb (the floor has no reflection):
#   - throughput and p50/p99 latency of contactsd at 1, 16 and 64 callers,
#     for uniform keys (1,000 properties) and hot keys (4 properties), with
#     read coalescing on (the default) and off (-no-read-coalescing), and
#     of the floor at 64 callers; the emulator answers every request after
#     LOAD_LATENCY;
#   - the peak RSS (VmHWM) of contactsd and of the floor holding
#     LOAD_INFLIGHT reads of distinct properties in flight (the emulator
#     answers after 1 s), with no soft memory limit and with
#     GOMEMLIMIT=LOAD_GOMEMLIMIT, and contactsd's over the floor's (issue
#     26: at most 1.2).
# It prints the tables and writes them, with the commit and the machine, to
# LOAD_OUT. Every loop is bounded; the processes it starts end with it.
# Needs Go and jq.
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=${LOAD_DURATION:-8s}
latency=${LOAD_LATENCY:-20ms}
inflight=${LOAD_INFLIGHT:-1000}
memlimit=${LOAD_GOMEMLIMIT:-40MiB}
out=${LOAD_OUT:-docs/performance.md}
# LOAD_ONLY=memory skips the throughput runs (their table then says so);
# the file is still written, so point LOAD_OUT elsewhere to keep the docs.
only=${LOAD_ONLY:-}
case "$only" in "" | memory) ;; *) echo "LOAD_ONLY: memory or unset, not '$only'" >&2; exit 1 ;; esac
command -v jq >/dev/null || { echo "tools/load/run.sh needs jq" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building contactsd, contacts-emulator, loadfloor and ghz" >&2
go build -o "$work/" ./cmd/contactsd ./cmd/contacts-emulator ./internal/loadfloor
go tool -modfile=tools/go.mod ghz --version >/dev/null # builds ghz once
ghz() { go tool -modfile=tools/go.mod ghz --protoset clients/descriptors/contacts.binpb "$@"; }

# wait_for LOG PID PATTERN: until PATTERN is in LOG (at most 20 s), or fail
# when the process ends first.
wait_for() {
  local i
  for i in $(seq 1 400); do
    grep -q -- "$3" "$1" && return 0
    kill -0 "$2" 2>/dev/null || { cat "$1" >&2; return 1; }
    sleep 0.05
  done
  echo "no '$3' in $1 after 20 s" >&2; cat "$1" >&2; return 1
}

# log_value LOG KEY: the value of KEY=... in the first line that has it.
log_value() { grep -o -m1 -- "$2=[^ ]*" "$1" | head -1 | cut -d= -f2-; }

# start_emu LATENCY: starts an emulator with 1,000 extra properties
# (2000001…2001000, copies of 1000001) and sets emu_url.
start_emu() {
  local log="$work/emulator-$1.log"
  "$work/contacts-emulator" -listen 127.0.0.1:0 -latency "$1" -extra-properties 1000 2>"$log" &
  local pid=$!
  pids+=("$pid")
  wait_for "$log" "$pid" "base_url="
  emu_url=$(log_value "$log" base_url)
}

# start_server SERVER NAME GOMEMLIMIT [FLAGS…]: starts SERVER (contactsd
# or floor) against emu_url with that GOMEMLIMIT ("": unset); sets srv_pid
# and srv_addr. contactsd uses the emulator's demo account, the floor its
# static demo token.
start_server() {
  local server=$1 log="$work/$1-$2.log" limit=$3
  shift 3
  local env_limit=(-u GOMEMLIMIT)
  [ -n "$limit" ] && env_limit=(GOMEMLIMIT="$limit")
  if [ "$server" = floor ]; then
    env "${env_limit[@]}" "$work/loadfloor" -listen 127.0.0.1:0 -upstream "$emu_url" "$@" 2>"$log" &
  else
    # The emulator has no rate limit: the governor's (200 a minute for
    # Booking.com) would measure the governor, not the facade.
    env "${env_limit[@]}" CONTACTS_API_CLIENT_ID=demo-client-id CONTACTS_API_CLIENT_SECRET=demo-client-secret \
      "$work/contactsd" -listen 127.0.0.1:0 -upstream "$emu_url" \
      -auth-url "$emu_url/token-based-authentication/exchange" -upstream-rate-per-minute 100000000 "$@" 2>"$log" &
  fi
  srv_pid=$!
  pids+=("$srv_pid")
  wait_for "$log" "$srv_pid" 'serving contacts.v1.ContactsService'
  srv_addr=$(log_value "$log" listen)
}

stop_server() { kill "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; }

# Call data: uniform keys pick one of the 1,000 extra properties at random,
# hot keys one of 4, distinct keys go round the 1,000 in order.
uniform='{"property_id": "{{randomInt 2000001 2001001}}"}'
hot='{"property_id": "{{randomInt 2000001 2000005}}"}'
distinct='{"property_id": "{{add 2000001 (mod .RequestNumber 1000)}}"}'
call=contacts.v1.ContactsService/ListContacts

# load CALLERS DATA: one ghz run of $duration; prints calls/s, p50 ms,
# p99 ms and the number of calls that did not end OK.
load() {
  ghz --insecure --call "$call" -c "$1" -z "$duration" --duration-stop=ignore -d "$2" -O json "$srv_addr" >"$work/ghz.json" 2>"$work/ghz.err" ||
    { cat "$work/ghz.err" >&2; return 1; }
  jq -r '[ (.rps | floor),
           ((.latencyDistribution // [])[] | select(.percentage == 50) | .latency / 1e6 * 10 | round / 10),
           ((.latencyDistribution // [])[] | select(.percentage == 99) | .latency / 1e6 * 10 | round / 10),
           ([(.statusCodeDistribution // {}) | to_entries[] | select(.key != "OK") | .value] | add // 0)
         ] | @tsv' "$work/ghz.json"
}

started=$(date -u +%Y-%m-%dT%H:%MZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

throughput="| server | callers | keys | coalescing | calls/s | p50 ms | p99 ms | not OK |
|---|---:|---|---|---:|---:|---:|---:|"
coalescing_list=(on off floor)
if [ "$only" = memory ]; then
  coalescing_list=()
  throughput+=$'\n'"| (not measured: LOAD_ONLY=memory) | | | | | | | |"
else
  start_emu "$latency"
fi
for coalescing in "${coalescing_list[@]}"; do
  server=contactsd callers_list=(1 16 64)
  flags=()
  [ "$coalescing" = off ] && flags=(-no-read-coalescing)
  [ "$coalescing" = floor ] && server=floor callers_list=(64) coalescing="–"
  start_server "$server" "throughput-${flags[*]:-default}" "" "${flags[@]}"
  ghz --insecure --call "$call" -n 20 -c 1 -d "$hot" "$srv_addr" >/dev/null # token and connections
  for keys in uniform hot; do
    for callers in "${callers_list[@]}"; do
      data=$uniform
      [ "$keys" = hot ] && data=$hot
      echo "$server, callers $callers, $keys keys, coalescing $coalescing, $duration" >&2
      IFS=$'\t' read -r rps p50 p99 bad < <(load "$callers" "$data")
      throughput+=$'\n'"| $server | $callers | $keys | $coalescing | $rps | $p50 | $p99 | $bad |"
    done
  done
  stop_server
done

memory="| server | soft memory limit | reads in flight | peak RSS (VmHWM) MiB | calls | not OK |
|---|---|---:|---:|---:|---:|"
ratios="| soft memory limit | contactsd MiB | floor MiB | contactsd / floor (target ≤ 1.2) |
|---|---:|---:|---:|"
start_emu 1s
for limit in "" "$memlimit"; do
  label="none"
  [ -n "$limit" ] && label="GOMEMLIMIT=$limit"
  declare -A hwm=()
  for server in contactsd floor; do
    echo "$server, $inflight reads in flight, soft memory limit: $label" >&2
    start_server "$server" "mem-${limit:-none}" "$limit"
    ghz --insecure --call "$call" -n 20 -c 1 -d "$hot" "$srv_addr" >/dev/null
    # 3 rounds of $inflight calls, each held 1 s by the emulator, over 10
    # connections (contactsd admits 1,000 streams on one).
    ghz --insecure --call "$call" -c "$inflight" --connections 10 -n $((3 * inflight)) -t 30s \
      -d "$distinct" -O json "$srv_addr" >"$work/mem.json" 2>"$work/ghz.err" || { cat "$work/ghz.err" >&2; exit 1; }
    hwm[$server]=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$srv_pid/status")
    calls=$(jq '.count' "$work/mem.json")
    bad=$(jq '[(.statusCodeDistribution // {}) | to_entries[] | select(.key != "OK") | .value] | add // 0' "$work/mem.json")
    stop_server
    memory+=$'\n'"| $server | $label | $inflight | ${hwm[$server]} | $calls | $bad |"
  done
  ratio=$(awk -v a="${hwm[contactsd]}" -v b="${hwm[floor]}" 'BEGIN {printf "%.2f", a / b}')
  ratios+=$'\n'"| $label | ${hwm[contactsd]} | ${hwm[floor]} | ${ratio}× |"
  unset hwm
done

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . ':!docs/performance.md' || commit+=" (with uncommitted changes)"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)

mkdir -p "$(dirname "$out")"
cat >"$out" <<EOF
# Performance

Measured by \`tools/load/run.sh\`, which writes this file: it builds
contactsd, the emulator (\`cmd/contacts-emulator\`) and the floor
(\`internal/loadfloor\`), starts them on loopback and drives their
\`ListContacts\` with [ghz](https://ghz.sh) (pinned in \`tools/go.mod\`).
Run it from the
repository root; it takes about three minutes and needs Go and jq:

\`\`\`sh
bash tools/load/run.sh                       # rewrites docs/performance.md
LOAD_DURATION=30s LOAD_LATENCY=50ms bash tools/load/run.sh
\`\`\`

How to read the tables:

- **Throughput**: each row is one ghz run of ${duration} with that many
  callers, each sending its next call when the last one ends. The emulator
  answers every request after ${latency}, as a distant upstream would.
  *Uniform* keys pick one of 1,000 properties at random, *hot* keys one of
  4. With coalescing on (the default), identical reads in flight share one
  upstream GET; \`-no-read-coalescing\` sends one GET per read. The read
  cache is off (\`-read-cache-ttl\` 0), so every figure includes the
  upstream. *not OK* counts calls that did not end with status OK.
- **The floor** (\`internal/loadfloor\`, built for this script only) is
  the bare pass-through: a plain \`grpc.NewServer()\` whose
  \`ListContacts\` makes the same upstream GET with the same REST client
  and HTTP transport, and nothing else (no validation, access gate, read
  path, error translation, metrics or logging). It is what any gRPC front
  of this API costs; contactsd's figures over the floor's are what the
  facade adds.
- **Memory**: a fresh server holds ${inflight} reads of distinct
  properties in flight (the emulator answers after 1 s; three rounds);
  the figure is its peak resident set (VmHWM in /proc). Without
  GOMEMLIMIT, contactsd sets a soft limit of 90 % of the container's
  memory limit; this machine gives it none, so the rows marked *none*
  have no limit (the floor never sets one). The second table divides
  contactsd's peak by the floor's under the same limit; issue 26 asks for
  at most 1.2.
- ghz, contactsd and the emulator share the machine's cores, so the
  figures are for comparing rows, and runs on the same machine, not
  capacity planning. The Go benchmarks measure the in-process parts:
  \`go test -run '^\$' -bench . ./service ./internal/upstream ./internal/errmap\`,
  compared with \`benchstat\`.

Commit ${commit}, ${started}; ${cpu}, $(nproc) CPUs
(load average $load_before at the start); $(go version | cut -d' ' -f3).

## Throughput and latency (ListContacts, upstream ${latency} away)

${throughput}

## Memory at ${inflight} reads in flight

${memory}

${ratios}
EOF
cat "$out"
