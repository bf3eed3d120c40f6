#!/usr/bin/env bash
# Builds the agent's OCI image without a registry (`make image`): the root file system is made of
# the files of the Debian packages the container's final stage names (container/Dockerfile: the
# runtime libraries and ca-certificates) and the packages they depend on, as installed on this
# Debian 12 machine, plus the stripped binary, /etc/passwd and /etc/group for uid 101:103 and the
# CA bundle. umoci writes the image; the result is an OCI archive (a tar of the OCI layout), which
# `skopeo copy oci-archive:FILE docker://REGISTRY/spilo-agent:VERSION` pushes.
# Usage: build-image.sh AGENT VERSION REVISION SOURCE OUT.oci.tar
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=$1 VERSION=$2 REVISION=$3 SOURCE=$4 OUT=$5
PY=/usr/bin/python3
die() { echo "make image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (the root file system keeps root-owned files and uid 101); run it as root"
for c in umoci dpkg-query strip tar; do command -v "$c" >/dev/null || die "$c is missing: run 'make deps'"; done
[ -x "$AGENT" ] || die "$AGENT is not built: run 'make'"

# the final stage's packages, from the Dockerfile, so the image and the Dockerfile cannot drift
pkgs=$(sed -n '/^FROM debian:12-slim/,$p' container/Dockerfile | sed -n '/apt-get install/,/&&.*rm -rf/p' \
    | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vxE 'apt-get|install|rm|update' | sort -u)
[ -n "$pkgs" ] || die "no runtime packages found in container/Dockerfile's final stage"
closure=$("$PY" tests/deploy/debclosure.py $pkgs) || die "a runtime package is not installed: run 'make deps'"

work=$(mktemp -d "${TMPDIR:-/tmp}/spilo-agent-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{etc/ssl/certs,tmp}
chmod 1777 "$root/tmp"
# every file of those packages but documentation, manuals and locales (as debian:12-slim drops them)
container/rootfs.sh "$root" $closure >/dev/null
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nspilo-agent:x:101:103::/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nspilo-agent:x:103:\n' >"$root/etc/group"
install -m 0755 "$AGENT" "$root/usr/local/bin/spilo-agent"
strip "$root/usr/local/bin/spilo-agent"

layout=$work/oci tag=${VERSION//+/-} # an OCI tag has no "+"
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci unpack --image "$layout:$tag" "$work/bundle" >/dev/null
rm -rf "$work/bundle/rootfs"
mv "$root" "$work/bundle/rootfs"
umoci repack --image "$layout:$tag" --refresh-bundle "$work/bundle" >/dev/null
umoci config --image "$layout:$tag" --os linux --architecture "$(dpkg --print-architecture)" \
    --config.user 101:103 --config.workingdir / --config.exposedports 8009/tcp \
    --config.entrypoint /usr/local/bin/spilo-agent --config.cmd run \
    --config.label "org.opencontainers.image.title=spilo-agent" \
    --config.label "org.opencontainers.image.version=$VERSION" \
    --config.label "org.opencontainers.image.revision=$REVISION" \
    --config.label "org.opencontainers.image.source=$SOURCE" \
    --manifest.annotation "org.opencontainers.image.version=$VERSION" \
    --manifest.annotation "org.opencontainers.image.revision=$REVISION"
umoci gc --layout "$layout"
mkdir -p "$(dirname "$OUT")"
tar -C "$layout" -cf "$OUT.tmp" . && mv "$OUT.tmp" "$OUT"
echo "image: $OUT ($(du -h "$OUT" | cut -f1), $(wc -w <<<"$closure") Debian packages, user 101:103, version $VERSION)"
