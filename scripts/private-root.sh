#!/usr/bin/env bash
# Runs a command (in the current directory) under a root directory of this mount namespace's own, for test.sh as a
# user who is not root. In a user namespace the real root's directories (/ and /tmp among them) belong to an unmapped
# uid, which portreserved rightly refuses to trust with its state. Here / is a tmpfs owned by the namespace's root that
# bind-mounts every entry of the real / except /tmp, which is its own, empty, and the namespace root's too.
# Usage (inside unshare --map-root-user --mount): scripts/private-root.sh COMMAND [ARGUMENT...]
set -euo pipefail
root=$(mktemp -d)
mount -t tmpfs -o mode=0755 tmpfs "$root"
for entry in /* /.[!.]*; do
  [[ -e $entry || -L $entry ]] || continue
  name=${entry#/}
  if [[ $name == tmp ]]; then
    continue
  elif [[ -L $entry ]]; then
    cp -P "$entry" "$root/$name"
  elif [[ -d $entry ]]; then
    mkdir "$root/$name"
    mount --rbind "$entry" "$root/$name"
  else
    touch "$root/$name"
    mount --bind "$entry" "$root/$name"
  fi
done
mkdir -m 1777 "$root/tmp"
exec chroot "$root" /bin/bash -c 'cd "$1" && shift && exec "$@"' private-root "$PWD" "$@"
