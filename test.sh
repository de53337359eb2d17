#!/usr/bin/env bash
# Builds, then runs the whole test suite inside a private network namespace, so that tests write the namespace's
# own net.ipv4.ip_local_reserved_ports and never the host's, and a private mount namespace with a bpf filesystem of its
# own at /sys/fs/bpf, so that whatever a test daemon pins goes when the run ends and the machine's is never touched. Ends with "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-tools.sh
ensure_tools ip:iproute2 unshare:util-linux setpriv:util-linux nsenter:util-linux strace:strace \
  /usr/bin/python3:python3 /usr/lib/python3/dist-packages/portpicker.py:python3-portpicker

./build.sh
# The package test builds the .deb offline, inside the namespace: fetch what it needs first.
./package.sh --fetch

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"
if [[ $(id -u) -eq 0 ]]; then
  namespace=(unshare --net --mount)
else
  # Root mapped in a user namespace: tests skip, naming why, what the kernel allows only the real root.
  namespace=(unshare --map-root-user --net --mount scripts/private-root.sh)
fi

set +e
"${namespace[@]}" bash -c '
  set -e
  ip link set lo up
  mount -t bpf -o mode=0700 bpf /sys/fs/bpf 2>/dev/null || true
  # The tests check that they run in this namespace before they write its reserved port list or attach bind hooks.
  export PORTRESERVE_TEST_NETNS=$(readlink /proc/self/ns/net)
  exec dotnet test PortReserve.slnx -c Release --no-build --nologo \
    --logger "trx" --logger "console;verbosity=normal" --results-directory "$1" -- RunConfiguration.TreatNoTestsAsError=true
' test-namespace "$results" 2>&1 | grep -v -E '^\s*(Passed|Skipped) ' 
status=${PIPESTATUS[0]}
set -e

passed=0 failed=0 skipped=0
shopt -s nullglob
trx_files=("$results"/*.trx)
for trx in "${trx_files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  value() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  # A skipped test is counted in total but not executed (the runner leaves notExecuted at 0).
  skipped=$((skipped + $(value total) - $(value executed)))
done
if ((${#trx_files[@]} == 0)) || { ((status != 0)) && ((failed == 0)); }; then
  failed=$((failed + 1))
  echo "test.sh: the test run failed before reporting results (exit $status)" >&2
fi

summary="$passed passed, $failed failed"
((skipped > 0)) && summary="$summary, $skipped skipped"
echo "$summary"
((failed == 0))
