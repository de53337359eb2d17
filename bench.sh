#!/usr/bin/env bash
# Measures every benchmark row in one run on this machine and rewrites bench/results.md.
# Runs inside a private network namespace: the daemon under test writes that namespace's reserved port list. And in a
# private mount namespace with a bpf filesystem of its own at /sys/fs/bpf: what the daemons pin goes when the run ends.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-tools.sh
ensure_tools ip:iproute2 unshare:util-linux /usr/bin/python3:python3 /usr/bin/portserver:python3-portpicker

./build.sh
dotnet build bench/PortReserve.Benchmarks -c Release --nologo -v quiet -clp:NoSummary
if [[ $(id -u) -eq 0 ]]; then namespace=(unshare --net --mount); else namespace=(unshare --map-root-user --net --mount); fi
"${namespace[@]}" bash -c '
  set -e
  ip link set lo up
  mount -t bpf -o mode=0700 bpf /sys/fs/bpf 2>/dev/null || true
  exec dotnet bench/PortReserve.Benchmarks/bin/Release/net10.0/PortReserve.Benchmarks.dll \
    --daemon artifacts/bin/portreserved --out bench/results.md "$@"
' bench "$@"
