#!/usr/bin/env bash
# The OCI image of `make image` (container/build-image.sh), built from this AGENT without any
# registry: skopeo reads the archive's labels, user and entrypoint; umoci unpacks it; the agent
# runs from the unpacked root as uid 101 with the root mounted read-only (a mount namespace of
# its own) and answers /livez, /readyz and /metrics, and stops cleanly on SIGTERM.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib/common.sh

if [ -z "${AGENT:-}" ] || [ ! -x "${AGENT:-}" ]; then
    nok "AGENT is not set to the built agent: run 'make' and AGENT=build/spilo-agent bash $0"
    finish; exit
fi
if [ "$(id -u)" != 0 ]; then
    nok "make image and this test need root (root-owned files in the image, unshare, chroot): run as root"
    finish; exit
fi
for tool in umoci:umoci skopeo:skopeo unshare:util-linux chroot:coreutils; do
    command -v "${tool%%:*}" >/dev/null || { nok "${tool%%:*} is missing: run 'make deps' (Debian package ${tool#*:})"; finish; exit; }
done

version=$("$AGENT" version | awk '{print $2}')
rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
archive=$TMP/spilo-agent.oci.tar
if out=$(container/build-image.sh "$AGENT" "$version" "$rev" https://spilo-agent.example.org "$archive" 2>&1); then
    ok "make image's script builds an OCI archive without a registry (${out##*image: })"
else
    nok "container/build-image.sh failed: $(tail -3 <<<"$out")"; finish; exit
fi
size=$(stat -c %s "$archive")
ok "image size: $((size / 1024 / 1024)) MiB ($size bytes)"
check "the image is small (under 40 MiB: libraries, CA bundle and the agent, no shell)" test "$size" -lt $((40 * 1024 * 1024))

# ---- what a registry and a kubelet read from it -------------------------------------------
cfg=$(skopeo inspect --config "oci-archive:$archive" 2>&1) || nok "skopeo inspect --config: $cfg"
eq "user 101:103 (numeric: runAsNonRoot can verify it; Spilo's postgres uid is 101)" 101:103 "$(jq -r .config.User <<<"$cfg")"
eq "entrypoint and command" '["/usr/local/bin/spilo-agent"] ["run"]' \
    "$(jq -c .config.Entrypoint <<<"$cfg") $(jq -c .config.Cmd <<<"$cfg")"
eq "exposes 8009" '{"8009/tcp":{}}' "$(jq -c .config.ExposedPorts <<<"$cfg")"
eq "label org.opencontainers.image.version is the agent's version" "$version" \
    "$(jq -r '.config.Labels["org.opencontainers.image.version"]' <<<"$cfg")"
eq "label org.opencontainers.image.revision is the commit" "$rev" \
    "$(jq -r '.config.Labels["org.opencontainers.image.revision"]' <<<"$cfg")"
check "label org.opencontainers.image.source is set" test -n "$(jq -r '.config.Labels["org.opencontainers.image.source"] // empty' <<<"$cfg")"
eq "linux/$(dpkg --print-architecture)" "linux/$(dpkg --print-architecture)" "$(jq -r '.os + "/" + .architecture' <<<"$cfg")"

# ---- unpack it and run it as the kubelet would: uid 101, read-only root --------------------
mkdir -p "$TMP/layout"
tar -C "$TMP/layout" -xf "$archive"
tag=$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$TMP/layout/index.json")
if umoci unpack --image "$TMP/layout:$tag" "$TMP/bundle" >/dev/null 2>"$TMP/unpack.err"; then ok "umoci unpacks it ($tag)"
else nok "umoci unpack: $(head -2 "$TMP/unpack.err")"; finish; exit; fi
root=$TMP/bundle/rootfs
check "no shell in the image" test ! -e "$root/bin/sh" -a ! -e "$root/usr/bin/bash"
check "the CA bundle is there (TLS to S3, STS and Kubernetes)" test -s "$root/etc/ssl/certs/ca-certificates.crt"
out=$(chroot --userspec=101:103 "$root" /usr/local/bin/spilo-agent version 2>&1)
eq "the image's agent is this agent" "$("$AGENT" version)" "$out"

port=$(free_port)
env -i PATH=/usr/sbin:/usr/bin PGHOST=127.0.0.1 PGPORT=1 POD_NAME=pg-0 POD_NAMESPACE=test \
    unshare -m --propagation private sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift &&
        exec chroot --userspec=101:103 "$@"' sh "$root" "$root" /usr/local/bin/spilo-agent run \
    --set "agent.listen=127.0.0.1:$port" --set agent.check_timeout=5s >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null"
url="http://127.0.0.1:$port"
check "GET /livez answers 200 from the image (uid 101, read-only root)" wait_http "$url/livez" 200 10
check "GET /readyz turns 200 once every check ran" wait_http "$url/readyz" 200 30
contains "GET /metrics serves spilo_agent_up 1" "$(curl -s --max-time 2 "$url/metrics")" "spilo_agent_up 1"
eq "it runs as uid 101" 101 "$(awk '/^Uid:/ {print $2}' /proc/$pid/status 2>/dev/null)"
kill -TERM "$pid" 2>/dev/null; wait "$pid"; rc=$?
eq "SIGTERM stops it cleanly (exit 0)" 0 "$rc"
grep -qiE 'error while loading shared libraries|read-only file system' "$TMP/run.err" \
    && nok "the image lacks something: $(head -2 "$TMP/run.err")" || ok "no loader error, nothing tried to write the root"
finish
