#!/usr/bin/env bash
# Builds if needed, then runs portreserved in the foreground with its embedded defaults.
set -euo pipefail
cd "$(dirname "$0")"

# build.sh leaves a stamp; rebuild when a source or project file is newer (generated files under obj/ do not count).
stamp=artifacts/bin/.build-stamp
if [[ ! -e $stamp ]] || [[ -n $(find src Directory.Build.props Directory.Packages.props \( -name obj -o -name bin \) -prune \
    -o -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -print | head -1) ]]; then
  ./build.sh
fi

if [[ $(id -u) -eq 0 ]]; then
  socket=/run/portreserve/portreserved.sock state=/var/lib/portreserve
else
  if [[ -n ${XDG_RUNTIME_DIR:-} ]]; then
    socket=$XDG_RUNTIME_DIR/portreserve/portreserved.sock
  else
    socket=${TMPDIR:-/tmp}/portreserve-$(id -u)/portreserved.sock
  fi
  state=${XDG_STATE_HOME:-$HOME/.local/state}/portreserve
fi
cat <<INFO
portreserved: socket $socket, state $state
  try, in another terminal:  $PWD/artifacts/bin/portreserve status
                             $PWD/artifacts/bin/portreserve run --tcp 1 -- sh -c 'echo reserved \$PORTRESERVE_TCP'
  stop with Ctrl-C (persistent reservations stay; runtime ones are released, or, where the bind hooks run, kept for the
  next start for --restart-grace: portreserved --release-kernel removes everything once it is stopped)
INFO
exec artifacts/bin/portreserved "$@"
