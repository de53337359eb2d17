#!/usr/bin/env bash
# Installs PortReserve from this checkout, for development (a machine's install is the Debian package: ./package.sh):
# both programs, the systemd unit, the admin group, and the client libraries' NuGet packages.
#   ./install.sh [--prefix DIR] [--sysconfdir DIR] [--skip-group]
#   ./install.sh --uninstall [--prefix DIR]
#     --prefix DIR      install under DIR (default /usr/local): DIR/lib/portreserve (programs), DIR/bin (links),
#                       DIR/lib/systemd/system/portreserved.service, DIR/share/portreserve/packages (NuGet packages:
#                       PortReserve and PortReserve.AspNetCore)
#     --sysconfdir DIR  where the administrator's reservations.d goes: DIR/portreserve/reservations.d, with a commented
#                       example (default /etc for the prefixes /usr/local and /usr, else PREFIX/etc; the installed
#                       unit reads it from there)
#     --skip-group      do not create the "portreserve" admin group (for staging installs)
#     --uninstall       remove what install.sh installed under DIR; reservations.d, the persistent store and the group
#                       stay. For the prefixes /usr/local and /usr (the machine's service) it first stops enforcing
#                       what the stopped daemon left (portreserved --release-kernel)
set -euo pipefail
cd "$(dirname "$0")"

prefix=/usr/local
sysconfdir=
create_group=yes
uninstall=no
while (($#)); do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --sysconfdir) sysconfdir=${2:?--sysconfdir needs a directory}; shift 2 ;;
    --sysconfdir=*) sysconfdir=${1#--sysconfdir=}; shift ;;
    --skip-group) create_group=no; shift ;;
    --uninstall) uninstall=yes; shift ;;
    -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (see ./install.sh --help)" >&2; exit 2 ;;
  esac
done
if [[ $uninstall == yes && ! -d $prefix ]]; then
  echo "install.sh: $prefix does not exist, so nothing is installed there" >&2
  exit 1
fi
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
libdir=$prefix/lib/portreserve
unitdir=$prefix/lib/systemd/system

# The Debian package owns /usr/lib/portreserve and its unit: this script must neither overwrite nor remove them.
package_installed=no
if command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f='${Status}' portreserve 2>/dev/null | grep -q ' installed$'; then
  package_installed=yes
fi
if [[ $prefix == /usr && $package_installed == yes ]]; then
  echo "install.sh: the portreserve Debian package is installed in /usr; remove it (apt remove portreserve) or choose another --prefix" >&2
  exit 1
fi

if [[ $uninstall == yes ]]; then
  if [[ $prefix == /usr/local || $prefix == /usr ]] && [[ -x $libdir/portreserved ]] && ! "$libdir/portreserved" --release-kernel; then
    echo "install.sh: the daemon's reservations stay enforced until the machine restarts (see the message above)" >&2
  fi
  rm -rf "${libdir:?}" "$prefix/share/portreserve/packages"
  rm -f "$prefix/bin/portreserved" "$prefix/bin/portreserve" "$unitdir/portreserved.service"
  rmdir "$prefix/share/portreserve" 2>/dev/null || true
  echo "install.sh: removed PortReserve from $prefix (reservations.d, /var/lib/portreserve and the portreserve group stay)"
  exit 0
fi

# The daemon reads /etc/portreserve/reservations.d; a staging prefix keeps its files under itself, and its unit says
# where.
if [[ -z $sysconfdir ]]; then
  case $prefix in /usr/local|/usr) sysconfdir=/etc ;; *) sysconfdir=$prefix/etc ;; esac
fi
confdir=$sysconfdir/portreserve/reservations.d
config_args=
[[ $sysconfdir == /etc ]] || config_args=" --config-dir $confdir"

./build.sh
mkdir -p "$libdir" "$prefix/bin" "$unitdir" "$prefix/share/portreserve/packages"
rm -rf "${libdir:?}"/*
cp -a artifacts/bin/. "$libdir/"
rm -f "$libdir/.build-stamp"
ln -sfn "$libdir/portreserved" "$prefix/bin/portreserved"
ln -sfn "$libdir/portreserve" "$prefix/bin/portreserve"
sed "s|@SBINDIR@|$prefix/bin|g; s|@BINDIR@|$prefix/bin|g; s|^\(ExecStart=.*\)$|\1$config_args|" contrib/systemd/portreserved.service \
  > "$unitdir/portreserved.service"
for package in src/PortReserve src/PortReserve.AspNetCore; do
  dotnet pack "$package" -c Release --no-restore --nologo -v quiet -o "$prefix/share/portreserve/packages"
done

# The administrator's reservations.d, with an example that declares nothing until its lines are uncommented.
# An existing example is left as the administrator edited it.
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

# systemd finds units in its own directories (systemd-analyze unit-paths); a unit elsewhere is linked in first.
enable_steps="  sudo systemctl daemon-reload
  sudo systemctl enable --now portreserved"
case $unitdir in
  /usr/local/lib/systemd/system|/usr/lib/systemd/system|/lib/systemd/system|/etc/systemd/system) ;;
  *) enable_steps="  sudo systemctl link $unitdir/portreserved.service
$enable_steps" ;;
esac

if [[ $package_installed == yes && $unitdir == /usr/local/lib/systemd/system ]]; then
  echo "install.sh: note: the portreserve Debian package is installed too; systemd now runs this unit, not the package's" >&2
fi

cat <<DONE
Installed PortReserve in $prefix:
  $prefix/bin/portreserved, $prefix/bin/portreserve
  $unitdir/portreserved.service
  $confdir/ (declare persistent reservations here; portreserve check --help)
  $(ls "$prefix"/share/portreserve/packages/*.nupkg | tr '\n' ' ')
To run it as a service:
$enable_steps
  $prefix/bin/portreserve status
To remove it: ./install.sh --uninstall$([[ $prefix == /usr/local ]] || echo " --prefix $prefix")
DONE
