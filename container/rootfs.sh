#!/usr/bin/env bash
# Copies the files of Debian packages, as installed on this machine, into a root file system with
# merged /usr (/lib, /lib64, /bin and /sbin are links into /usr), leaving out documentation,
# manuals and locales as debian:12-slim does. --libs-only copies only the shared-library trees
# (/lib, /lib64, /usr/lib, /usr/lib64): a root that can run a dynamically linked binary and holds
# nothing else, no shell. Used by container/build-image.sh and tests/integration/test_container.sh.
# Prints the number of files copied.
# Usage: rootfs.sh [--libs-only] DEST PACKAGE...
set -euo pipefail
libs_only=false
if [ "${1:-}" = --libs-only ]; then libs_only=true; shift; fi
root=$1
shift
mkdir -p "$root"/{usr/lib,usr/lib64,usr/bin,usr/sbin,usr/local/bin}
for d in lib lib64 bin sbin; do [ -e "$root/$d" ] || ln -s "usr/$d" "$root/$d"; done
n=0
while read -r f; do
    case $f in /usr/share/doc/*|/usr/share/man/*|/usr/share/info/*|/usr/share/locale/*|/usr/share/lintian/*) continue ;; esac
    if $libs_only; then
        case $f in /lib/*|/lib64/*|/usr/lib/*|/usr/lib64/*) ;; *) continue ;; esac
    fi
    [ -d "$f" ] && [ ! -L "$f" ] && continue
    [ -e "$f" ] || [ -L "$f" ] || continue
    case $f in /lib/*|/lib64/*|/bin/*|/sbin/*) dest=$root/usr$f ;; *) dest=$root$f ;; esac
    mkdir -p "$(dirname "$dest")"
    cp -a "$f" "$dest"
    n=$((n + 1))
done < <(for p in "$@"; do dpkg -L "$p"; done | sort -u)
echo "$n"
