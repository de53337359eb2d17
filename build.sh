#!/usr/bin/env bash
# Restores, builds everything in Release, and publishes both programs to artifacts/bin.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "build.sh: the .NET 10 SDK is required (dotnet not found on PATH)" >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build PortReserve.slnx -c Release --nologo -v quiet -clp:NoSummary

# The programs are published ReadyToRun for this machine's runtime identifier: precompiled code halves the daemon's
# start-up (no JIT of the start-up path) and the CLI's. They stay framework-dependent.
rid=$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')
for project in src/PortReserve.Daemon src/PortReserve.Cli; do
  dotnet publish "$project" -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true --nologo -v quiet -o artifacts/bin
done
touch artifacts/bin/.build-stamp
echo "build.sh: artifacts/bin/portreserved and artifacts/bin/portreserve are ready"
