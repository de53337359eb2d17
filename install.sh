#!/usr/bin/env bash
# Installs PortReserve: both programs, the systemd unit, the admin group, and the client libraries' NuGet packages.
#   ./install.sh [--prefix DIR] [--sysconfdir DIR] [--skip-group]
#     --prefix DIR      install under DIR (default /usr/local): DIR/lib/portreserve (programs), DIR/bin (links),
#                       DIR/lib/systemd/system/portreserved.service, DIR/share/portreserve/packages (NuGet packages:
#                       PortReserve and PortReserve.AspNetCore)
#     --sysconfdir DIR  where the administrator's reservations.d goes (default /etc): DIR/portreserve/reservations.d,
#                       with a commented example; the daemon reads /etc/portreserve/reservations.d
#     --skip-group      do not create the "portreserve" admin group (for staging installs)
set -euo pipefail
cd "$(dirname "$0")"

prefix=/usr/local
sysconfdir=/etc
create_group=yes
while (($#)); do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --sysconfdir) sysconfdir=${2:?--sysconfdir needs a directory}; shift 2 ;;
    --sysconfdir=*) sysconfdir=${1#--sysconfdir=}; shift ;;
    --skip-group) create_group=no; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (see ./install.sh --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)

./build.sh
libdir=$prefix/lib/portreserve
unitdir=$prefix/lib/systemd/system
mkdir -p "$libdir" "$prefix/bin" "$unitdir" "$prefix/share/portreserve/packages"
rm -rf "${libdir:?}"/*
cp -a artifacts/bin/. "$libdir/"
rm -f "$libdir/.build-stamp"
ln -sfn "$libdir/portreserved" "$prefix/bin/portreserved"
ln -sfn "$libdir/portreserve" "$prefix/bin/portreserve"
sed "s|@SBINDIR@|$prefix/bin|g; s|@BINDIR@|$prefix/bin|g" contrib/systemd/portreserved.service > "$unitdir/portreserved.service"
for package in src/PortReserve src/PortReserve.AspNetCore; do
  dotnet pack "$package" -c Release --no-restore --nologo -v quiet -o "$prefix/share/portreserve/packages"
done

# The administrator's reservations.d, with an example that declares nothing until its lines are uncommented.
# An existing example is left as the administrator edited it.
confdir=$sysconfdir/portreserve/reservations.d
mkdir -p "$confdir"
[[ -e $confdir/example.conf ]] || cp contrib/reservations.d/example.conf "$confdir/example.conf"

if [[ $create_group == yes ]]; then
  if getent group portreserve >/dev/null; then
    echo "install.sh: group portreserve exists"
  elif [[ $(id -u) -eq 0 ]]; then
    groupadd --system portreserve
    echo "install.sh: created group portreserve (its members may create and delete persistent reservations)"
  else
    echo "install.sh: not root, so the portreserve group was not created: sudo groupadd --system portreserve" >&2
  fi
fi

cat <<DONE
Installed PortReserve in $prefix:
  $prefix/bin/portreserved, $prefix/bin/portreserve
  $unitdir/portreserved.service
  $confdir/ (declare persistent reservations here; portreserve check --help)
  $(ls "$prefix"/share/portreserve/packages/*.nupkg | tr '\n' ' ')
To run it as a service:
  sudo systemctl link $unitdir/portreserved.service     # unless $unitdir is already a systemd unit directory
  sudo systemctl daemon-reload
  sudo systemctl enable --now portreserved
  $prefix/bin/portreserve status
DONE
