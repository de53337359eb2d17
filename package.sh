#!/usr/bin/env bash
# Builds the Debian package artifacts/portreserve_VERSION_ARCH.deb and the client libraries' NuGet packages
# (artifacts/PortReserve.VERSION.nupkg, artifacts/PortReserve.AspNetCore.VERSION.nupkg), all with the version in
# VERSION, then checks the package with lintian and fails on any error it reports.
#   ./package.sh [--fetch]
#     --fetch  only install the Debian tools and fetch the .NET packages the build needs (this needs the network);
#              build nothing. A build after it works offline.
# The .deb holds self-contained programs (no .NET runtime on the target): /usr/sbin/portreserved, /usr/bin/portreserve,
# the systemd unit, the portreserve group (sysusers.d), /etc/portreserve/reservations.d, man pages and completion.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-tools.sh

fetch_only=no
while (($#)); do
  case $1 in
    --fetch) fetch_only=yes; shift ;;
    -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown option '$1' (see ./package.sh --help)" >&2; exit 2 ;;
  esac
done

ensure_tools dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian
if ! command -v dotnet >/dev/null 2>&1; then
  echo "package.sh: the .NET 10 SDK is required (dotnet not found on PATH)" >&2
  exit 1
fi

version=$(tr -d '[:space:]' <VERSION)
arch=$(dpkg --print-architecture)
case $arch in
  amd64) rid=linux-x64 ;;
  arm64) rid=linux-arm64 ;;
  *) echo "package.sh: no .NET runtime for Debian architecture $arch (amd64 and arm64 have one)" >&2; exit 1 ;;
esac

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
work=artifacts/package
# Its own output and intermediate directories, so that this build never disturbs the one build.sh and the tests use.
dotnet_common=(--artifacts-path "$work/dotnet" --nologo -v quiet)
programs=(src/PortReserve.Daemon src/PortReserve.Cli)
libraries=(src/PortReserve src/PortReserve.AspNetCore)

if [[ $fetch_only == yes ]]; then
  for project in "${programs[@]}"; do
    dotnet restore "$project" -r "$rid" -p:SelfContained=true -p:PublishReadyToRun=true "${dotnet_common[@]}"
  done
  echo "package.sh: the Debian tools and .NET packages for $rid are here"
  exit 0
fi

source_dir=$work/portreserve-$version
rm -rf "$source_dir" "$work"/portreserve_* artifacts/portreserve_*.deb artifacts/PortReserve*.nupkg
mkdir -p "$source_dir"/{man,completion,systemd,sysusers.d,reservations.d}

# Self-contained and precompiled (ReadyToRun): the target needs no .NET runtime, and the programs start without JIT.
for project in "${programs[@]}"; do
  dotnet publish "$project" -c Release "${dotnet_common[@]}" -r "$rid" --self-contained true -p:PublishReadyToRun=true \
    -o "$source_dir/payload"
done
# Not shipped: the libraries' XML docs, and the runtime's LTTng tracepoint provider, which links against
# liblttng-ust.so.0 (Debian 12 has .so.1) and which the runtime does without when it cannot load it.
rm -f "$source_dir"/payload/*.xml "$source_dir"/payload/libcoreclrtraceptprovider.so
# Only the programs are executables; publish leaves the assemblies executable too.
find "$source_dir/payload" -type f ! -name portreserved ! -name portreserve ! -name createdump -exec chmod 0644 {} +

for library in "${libraries[@]}"; do
  dotnet pack "$library" -c Release "${dotnet_common[@]}" -o artifacts
done

# The one changelog entry is this version's; its date is the last commit's, so that the same commit builds the same
# package.
if when=$(git log -1 --format=%ct 2>/dev/null); then :; else when=$(date +%s); fi
cp -r contrib/debian "$source_dir/debian"
cat >"$source_dir/debian/changelog" <<CHANGELOG
portreserve ($version) unstable; urgency=medium

  * PortReserve $version.

 -- $(sed -n 's/^Maintainer: //p' contrib/debian/control)  $(date -u -R -d "@$when")
CHANGELOG
for page in contrib/man/*; do
  sed "s|@VERSION@|$version|g; s|\"\" \"PortReserve|\"$(date -u -d "@$when" +%Y-%m-%d)\" \"PortReserve|" "$page" \
    >"$source_dir/man/$(basename "$page")"
done
sed "s|@SBINDIR@|/usr/sbin|g; s|@BINDIR@|/usr/bin|g" contrib/systemd/portreserved.service \
  >"$source_dir/systemd/portreserved.service"
cp contrib/completion/portreserve.bash "$source_dir/completion/portreserve"
cp contrib/completion/_portreserve "$source_dir/completion/"
cp contrib/sysusers.d/portreserve.conf "$source_dir/sysusers.d/"
cp contrib/reservations.d/example.conf "$source_dir/reservations.d/"
cp README.md SECURITY.md "$source_dir/"

(cd "$source_dir" && dpkg-buildpackage --build=binary --no-sign >../build.log 2>&1) || {
  tail -40 "$work/build.log" >&2
  echo "package.sh: dpkg-buildpackage failed; the whole log is $work/build.log" >&2
  exit 1
}
deb=artifacts/portreserve_${version}_${arch}.deb
mv "$work/portreserve_${version}_${arch}.deb" "$deb"

# Errors fail the build. Warnings are printed; those that do not apply to this package are overridden, each with
# its reason, in contrib/debian/portreserve.lintian-overrides.
lintian --fail-on error --display-info "$deb"

echo "package.sh: $deb and $(ls artifacts/PortReserve*.nupkg | tr '\n' ' ')are ready"
