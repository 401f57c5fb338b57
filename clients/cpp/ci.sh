#!/usr/bin/env bash
# CI of the C++ example: the README's steps (build.sh) in a folder holding
# only what a user copies from the repository (the descriptor set and
# example.cc), then example against a real contactsd (CONTACTSD_BIN).
# Needs Debian's protobuf-compiler, protobuf-compiler-grpc, libgrpc++-dev,
# g++ and pkg-config.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${CONTACTSD_BIN:?set CONTACTSD_BIN to a built contactsd}"

work=$(mktemp -d)
srv_pid=
cleanup() {
  if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/clients/descriptors" "$work/clients/cpp"
cp "$repo/clients/descriptors/contacts.binpb" "$work/clients/descriptors/"
cp "$here/example.cc" "$work/clients/cpp/"
(cd "$work" && bash -euo pipefail "$here/build.sh")

# contactsd on a free port; its address is in the "serving" log line.
coproc SRV { exec "$CONTACTSD_BIN" -listen 127.0.0.1:0 2>&1 >/dev/null; }
srv_pid=$SRV_PID
exec 3<&"${SRV[0]}"
addr=
while IFS= read -r -t 60 line <&3; do
  if [[ $line =~ msg=\"serving\ contacts\.v1\.ContactsService\".*\ listen=([^ ]+) ]]; then
    addr=${BASH_REMATCH[1]}
    break
  fi
done
[ -n "$addr" ] || { echo "contactsd did not serve"; exit 1; }
cat <&3 >/dev/null & # keep reading its log

got=$(CONTACTS_ADDR=$addr "$work/build/cpp/example")
want='Anna de Vries
Jan Jansen
code 3 REQUIRED_FIELD_MISSING OTA 321
fix contacts[0].profiles REQUIRED_FIELD_MISSING
fix contacts[0].contact_person REQUIRED_FIELD_MISSING
fix contacts[0].phones REQUIRED_FIELD_MISSING
fix contacts[0].email INVALID_VALUE
fix contacts REQUIRED_FIELD_MISSING'
if [ "$got" != "$want" ]; then
  echo "example printed:"; echo "$got"; echo "want:"; echo "$want"; exit 1
fi
echo "clients/cpp: example OK"
