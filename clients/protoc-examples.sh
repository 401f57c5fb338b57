#!/usr/bin/env bash
# CI of the C++ and Java examples, which use no committed generated code:
# each <lang>/example.sh (the README quotes them) runs in a folder holding
# only what a user copies from the repository (the descriptor set and the
# example's source), against a real contactsd (CONTACTSD_BIN), and must
# print <lang>/example.expected. Needs Debian's protobuf-compiler,
# protobuf-compiler-grpc, libgrpc++-dev, g++, pkg-config (C++) and
# protobuf-compiler-grpc-java-plugin, libgrpc-java, libnetty-java,
# libgoogle-gson-java, libperfmark-java, libgeronimo-annotation-1.3-spec-java
# and a JDK (Java).
#
#   CONTACTSD_BIN=/path/to/contactsd bash clients/protoc-examples.sh cpp java
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${CONTACTSD_BIN:?set CONTACTSD_BIN to a built contactsd}"

work=$(mktemp -d)
srv_pid=
cleanup() {
  if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# contactsd on a free port; its address is in the "serving" log line.
coproc SRV { exec "$CONTACTSD_BIN" -listen 127.0.0.1:0 -upstream emulator 2>&1 >/dev/null; }
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

for lang in "$@"; do
  start=$SECONDS
  dir="$work/$lang"
  mkdir -p "$dir/clients/descriptors" "$dir/clients/$lang"
  cp "$here/descriptors/contacts.binpb" "$dir/clients/descriptors/"
  find "$here/$lang" -maxdepth 1 -type f ! -name 'example.sh' ! -name 'example.expected' -exec cp {} "$dir/clients/$lang/" \;
  got=$(cd "$dir" && CONTACTS_ADDR=$addr bash -euo pipefail "$here/$lang/example.sh")
  if [ "$got" != "$(cat "$here/$lang/example.expected")" ]; then
    echo "clients/$lang/example.sh printed:"; echo "$got"; echo "want (example.expected):"; cat "$here/$lang/example.expected"; exit 1
  fi
  echo "clients/$lang: example.sh OK, $((SECONDS - start)) s"
done
