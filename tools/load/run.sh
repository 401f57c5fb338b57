#!/usr/bin/env bash
# Load test of contactsd, on loopback, that writes docs/performance.md.
#
#   bash tools/load/run.sh            # ~3 minutes with the defaults
#   LOAD_DURATION=30s bash tools/load/run.sh
#
# It builds contactsd and the emulator (cmd/contacts-emulator), starts them
# on 127.0.0.1, and drives contactsd's ListContacts with ghz, the version
# pinned in tools/go.mod (go tool -modfile=tools/go.mod ghz):
#   - throughput and p50/p99 latency at 1, 16 and 64 callers, for uniform
#     keys (1,000 properties) and hot keys (4 properties), with read
#     coalescing on (the default) and off (-no-read-coalescing); the
#     emulator answers every request after LOAD_LATENCY;
#   - the peak RSS (VmHWM) of contactsd holding LOAD_INFLIGHT reads of
#     distinct properties in flight (the emulator answers after 1 s), with
#     no soft memory limit and with GOMEMLIMIT=LOAD_GOMEMLIMIT.
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
command -v jq >/dev/null || { echo "tools/load/run.sh needs jq" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building contactsd, contacts-emulator and ghz" >&2
go build -o "$work/" ./cmd/contactsd ./cmd/contacts-emulator
go tool -modfile=tools/go.mod ghz --version >/dev/null # builds ghz once
ghz() { go tool -modfile=tools/go.mod ghz "$@"; }

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

# start_contactsd NAME GOMEMLIMIT [FLAGS…]: starts contactsd against emu_url
# with the emulator's demo account and that GOMEMLIMIT ("": unset); sets
# cd_pid and cd_addr.
start_contactsd() {
  local log="$work/contactsd-$1.log" limit=$2
  shift 2
  local env_limit=(-u GOMEMLIMIT)
  [ -n "$limit" ] && env_limit=(GOMEMLIMIT="$limit")
  env "${env_limit[@]}" CONTACTS_API_CLIENT_ID=demo-client-id CONTACTS_API_CLIENT_SECRET=demo-client-secret \
    "$work/contactsd" -listen 127.0.0.1:0 -upstream "$emu_url" \
    -auth-url "$emu_url/token-based-authentication/exchange" "$@" 2>"$log" &
  cd_pid=$!
  pids+=("$cd_pid")
  wait_for "$log" "$cd_pid" 'msg="serving contacts.v1.ContactsService"'
  cd_addr=$(log_value "$log" listen)
}

stop_contactsd() { kill "$cd_pid"; wait "$cd_pid" 2>/dev/null || true; }

# Call data: uniform keys pick one of the 1,000 extra properties at random,
# hot keys one of 4, distinct keys go round the 1,000 in order.
uniform='{"property_id": "{{randomInt 2000001 2001001}}"}'
hot='{"property_id": "{{randomInt 2000001 2000005}}"}'
distinct='{"property_id": "{{add 2000001 (mod .RequestNumber 1000)}}"}'
call=contacts.v1.ContactsService/ListContacts

# load CALLERS DATA: one ghz run of $duration; prints calls/s, p50 ms,
# p99 ms and the number of calls that did not end OK.
load() {
  ghz --insecure --call "$call" -c "$1" -z "$duration" --duration-stop=ignore -d "$2" -O json "$cd_addr" >"$work/ghz.json" 2>"$work/ghz.err" ||
    { cat "$work/ghz.err" >&2; return 1; }
  jq -r '[ (.rps | floor),
           ((.latencyDistribution // [])[] | select(.percentage == 50) | .latency / 1e6 * 10 | round / 10),
           ((.latencyDistribution // [])[] | select(.percentage == 99) | .latency / 1e6 * 10 | round / 10),
           ([(.statusCodeDistribution // {}) | to_entries[] | select(.key != "OK") | .value] | add // 0)
         ] | @tsv' "$work/ghz.json"
}

started=$(date -u +%Y-%m-%dT%H:%MZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

throughput="| callers | keys | coalescing | calls/s | p50 ms | p99 ms | not OK |
|---:|---|---|---:|---:|---:|---:|"
start_emu "$latency"
for coalescing in on off; do
  flags=()
  [ "$coalescing" = off ] && flags=(-no-read-coalescing)
  start_contactsd "coalescing-$coalescing" "" "${flags[@]}"
  ghz --insecure --call "$call" -n 20 -c 1 -d "$hot" "$cd_addr" >/dev/null # token and connections
  for keys in uniform hot; do
    for callers in 1 16 64; do
      data=$uniform
      [ "$keys" = hot ] && data=$hot
      echo "callers $callers, $keys keys, coalescing $coalescing, $duration" >&2
      IFS=$'\t' read -r rps p50 p99 bad < <(load "$callers" "$data")
      throughput+=$'\n'"| $callers | $keys | $coalescing | $rps | $p50 | $p99 | $bad |"
    done
  done
  stop_contactsd
done

memory="| contactsd | reads in flight | peak RSS (VmHWM) MiB | calls | not OK |
|---|---:|---:|---:|---:|"
start_emu 1s
for limit in "" "$memlimit"; do
  label="no soft memory limit"
  [ -n "$limit" ] && label="GOMEMLIMIT=$limit"
  echo "$inflight reads in flight, $label" >&2
  start_contactsd "mem-${limit:-none}" "$limit"
  ghz --insecure --call "$call" -n 20 -c 1 -d "$hot" "$cd_addr" >/dev/null
  # 3 rounds of $inflight calls, each held 1 s by the emulator, over 10
  # connections (contactsd admits 1,000 streams on one).
  ghz --insecure --call "$call" -c "$inflight" --connections 10 -n $((3 * inflight)) -t 30s \
    -d "$distinct" -O json "$cd_addr" >"$work/mem.json" 2>"$work/ghz.err" || { cat "$work/ghz.err" >&2; exit 1; }
  hwm=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$cd_pid/status")
  calls=$(jq '.count' "$work/mem.json")
  bad=$(jq '[(.statusCodeDistribution // {}) | to_entries[] | select(.key != "OK") | .value] | add // 0' "$work/mem.json")
  stop_contactsd
  memory+=$'\n'"| $label | $inflight | $hwm | $calls | $bad |"
done

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . ':!docs/performance.md' || commit+=" (with uncommitted changes)"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)

mkdir -p "$(dirname "$out")"
cat >"$out" <<EOF
# Performance

Measured by \`tools/load/run.sh\`, which writes this file: it builds
contactsd and the emulator (\`cmd/contacts-emulator\`), starts both on
loopback and drives contactsd's \`ListContacts\` with
[ghz](https://ghz.sh) (pinned in \`tools/go.mod\`). Run it from the
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
- **Memory**: a fresh contactsd holds ${inflight} reads of distinct
  properties in flight (the emulator answers after 1 s; three rounds);
  the figure is its peak resident set (VmHWM in /proc). Without
  GOMEMLIMIT, contactsd sets a soft limit of 90 % of the container's
  memory limit; this machine gives it none, so the first row has no limit.
  No bare pass-through server is measured beside it: the bench program
  that had one is gone, and a floor worth comparing needs a server of its
  own.
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
EOF
cat "$out"
