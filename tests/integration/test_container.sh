#!/usr/bin/env bash
# container/Dockerfile. No registry is reachable here for debian:12 images, so the test proves
# what it can without one:
#   * the Dockerfile's shape: debian:12 build stage with the Makefile's -dev packages and `make`,
#     debian:12-slim final stage, non-root USER, EXPOSE 8009, exec-form ENTRYPOINT/CMD, no
#     HEALTHCHECK;
#   * the final stage installs exactly the packages of the libraries $AGENT links (readelf NEEDED
#     -> ldd path -> dpkg -S), and everything ldd loads comes with those packages' dependencies;
#   * as root: the binary runs in a chroot that holds only the files of those packages (and their
#     dependencies) as uid 101, serves /livez, /readyz and /metrics, and writes nothing;
#   * with buildah and a reachable registry: a real build (else an `ok - skipped` line says why).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib/common.sh

PY=/usr/bin/python3
DOCKERFILE=${DOCKERFILE:-container/Dockerfile}
# libraries every debian:12-slim has (Essential/required packages), which the Dockerfile need not name
BASE_PKGS="libc6 libgcc-s1 gcc-12-base"

if [ -z "${AGENT:-}" ] || [ ! -x "${AGENT:-}" ]; then
    nok "AGENT is not set to the built agent: run 'make' and AGENT=build/spilo-agent bash $0"
    finish; exit
fi
for tool in readelf:binutils dpkg-query:dpkg ldd:libc-bin; do
    command -v "${tool%%:*}" >/dev/null || nok "${tool%%:*} is missing: run 'make deps' (Debian package ${tool#*:})"
done
if ! [ -x "$PY" ]; then nok "$PY is missing: run 'make deps' (Debian package python3)"; finish; exit; fi

# ---- the Dockerfile ------------------------------------------------------------------------
declare -A F
while IFS=$'\t' read -r k v; do F[$k]=$v; done < <("$PY" tests/deploy/dockerfile_facts.py "$DOCKERFILE")
eq "two stages" 2 "${F[stages]:-}"
eq "build stage FROM debian:12 (bookworm)" "debian:12" "${F[stage0.from]:-}"
eq "final stage FROM debian:12-slim" "debian:12-slim" "${F[final.from]:-}"
eq "build stage runs make" yes "${F[stage0.runs_make]:-}"
contains "final stage copies only the binary from the build stage" "${F[final.copies]:-}" \
    "--from=build /src/build/spilo-agent /usr/local/bin/spilo-agent"
user=${F[final.user]:-}
uid=${user%%:*}
check "final stage sets USER to a numeric non-root uid ($user)" test -n "$uid" -a "$uid" != 0 -a "$uid" != root
[[ "$uid" =~ ^[0-9]+$ ]] && ok "USER is numeric, so runAsNonRoot can verify it" || nok "USER '$user' is not numeric"
eq "uid 101 (Spilo's postgres user, as the sidecar's runAsUser)" 101 "$uid"
eq "no HEALTHCHECK (Kubernetes probes /livez and /readyz)" no "${F[healthcheck]:-}"
eq "EXPOSE 8009" 8009 "${F[final.expose]:-}"
eq "ENTRYPOINT [\"/usr/local/bin/spilo-agent\"]" '["/usr/local/bin/spilo-agent"]' "${F[final.entrypoint]:-}"
eq "CMD [\"run\"]" '["run"]' "${F[final.cmd]:-}"
eq "ENTRYPOINT and CMD in exec form (no shell needed)" yes/yes \
    "${F[final.entrypoint.exec_form]:-}/${F[final.cmd.exec_form]:-}"

# the build stage installs the Makefile's build packages (minus the unit-test library)
mk=$(sed -n '/^DEB_BUILD *:=/,/^[^ ]/p' Makefile | sed '$d' | sed 's/^DEB_BUILD *:=//; s/\\//g' | tr -s ' \n' '\n' \
    | grep -v '^$' | grep -vx 'libcmocka-dev' | sort | tr '\n' ' ')
have=$(tr ' ' '\n' <<<"${F[stage0.packages]:-}" | grep -v '^$' | sort | tr '\n' ' ')
eq "build stage packages = the Makefile's DEB_BUILD without libcmocka-dev" "$mk" "$have"

runtime=$(tr ' ' '\n' <<<"${F[final.packages]:-}" | grep -v '^$' | sort | tr '\n' ' ')
contains "final stage installs ca-certificates (TLS to S3, STS, Kubernetes)" "$runtime" "ca-certificates"
libs_runtime=$(tr ' ' '\n' <<<"$runtime" | grep -v '^$' | grep -vx ca-certificates | sort | tr '\n' ' ')

# ---- the binary's libraries -> Debian packages ---------------------------------------------
# owner package of each library file (one pass over dpkg's file lists; /lib and /usr/lib alike)
declare -A owner
while IFS=$'\t' read -r path pkg; do owner[$path]=$pkg; done < <("$PY" tests/deploy/debclosure.py --owners \
    $(ldd "$AGENT" | awk '/=>/ {print $3} /^\t\/.*ld-linux/ {print $1}'))
"$AGENT" version >/dev/null 2>&1 && ok "\$AGENT runs ($("$AGENT" version 2>&1 | head -1))" || nok "\$AGENT version fails"
mapfile -t needed < <(readelf -d "$AGENT" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
declare -A path_of
while read -r so _ path _; do path_of[$so]=$path; done < <(ldd "$AGENT" | awk '/=>/ {print $1, $2, $3}')
direct="" unowned=""
for so in "${needed[@]}"; do
    path=${path_of[$so]:-}
    pkg=${owner[$path]:-}
    if [ -z "$path" ] || [ -z "$pkg" ]; then unowned+=" $so"; continue; fi
    direct+=" $pkg"
done
eq "every NEEDED library resolves to a Debian package" "" "$unowned"
direct=$(tr ' ' '\n' <<<"$direct" | grep -v '^$' | sort -u | grep -vxF -f <(tr ' ' '\n' <<<"$BASE_PKGS") | tr '\n' ' ')
eq "final stage's library packages = packages of the libraries the agent links (${#needed[@]} NEEDED)" \
    "$direct" "$libs_runtime"

closure=$("$PY" tests/deploy/debclosure.py $runtime $BASE_PKGS 2>"$TMP/closure.err") \
    || nok "debclosure.py: $(cat "$TMP/closure.err")"
missing=""
for path in "${!owner[@]}"; do
    pkg=${owner[$path]}
    if [ -z "$pkg" ]; then missing+=" $path(unowned)"; continue; fi
    grep -qx "$pkg" <<<"$closure" || missing+=" $path($pkg)"
done
eq "every library ldd loads comes with the final stage's packages and their dependencies" "" "$missing"

# ---- run it in a root file system made of exactly those packages -----------------------------
if [ "$(id -u)" != 0 ]; then
    ok "skipped: the chroot run needs root (chroot(2)); run as root to include it"
elif ! command -v chroot >/dev/null; then
    ok "skipped: chroot (coreutils) is not installed"
else
    root=$TMP/rootfs
    libpkgs=$("$PY" tests/deploy/debclosure.py $libs_runtime $BASE_PKGS)
    nfiles=$(container/rootfs.sh --libs-only "$root" $libpkgs) || nok "container/rootfs.sh builds the root"
    cp "$AGENT" "$root/usr/local/bin/spilo-agent"
    ok "root file system: $nfiles library files of $(wc -w <<<"$libpkgs") packages, no shell, no /etc, no /tmp"
    check "the root file system has no shell" test ! -e "$root/bin/sh"

    out=$(chroot --userspec=101:103 "$root" /usr/local/bin/spilo-agent version 2>&1); rc=$?
    eq "spilo-agent version runs in it as uid 101 (${out:0:60})" 0 "$rc"

    touch "$TMP/marker"; sleep 1
    port=$(free_port)
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin PGHOST=127.0.0.1 PGPORT=1 POD_NAME=pg-0 POD_NAMESPACE=test \
        chroot --userspec=101:103 "$root" /usr/local/bin/spilo-agent run \
        --set "agent.listen=127.0.0.1:$port" --set agent.check_timeout=5s \
        >"$TMP/chroot.out" 2>"$TMP/chroot.err" &
    pid=$!
    on_exit "kill -9 $pid"
    url="http://127.0.0.1:$port"
    check "GET /livez answers 200 in the minimal root" wait_http "$url/livez" 200 10
    check "GET /readyz turns 200 once every check ran" wait_http "$url/readyz" 200 30
    metrics=$(curl -s --max-time 2 "$url/metrics")
    contains "GET /metrics serves spilo_agent_up 1" "$metrics" "spilo_agent_up 1"
    kill -TERM "$pid" 2>/dev/null; wait "$pid"; rc=$?
    eq "SIGTERM stops it cleanly (exit 0)" 0 "$rc"
    written=$(find "$root" -newer "$TMP/marker" ! -type d 2>/dev/null | sed "s#^$root##" | head -5)
    eq "the agent wrote no file (fits readOnlyRootFilesystem)" "" "$written"
    grep -qi 'error while loading shared libraries' "$TMP/chroot.err" \
        && nok "a library is missing: $(head -2 "$TMP/chroot.err")" || ok "no dynamic loader errors"
fi

# ---- a real build, when buildah can reach a registry ----------------------------------------
if ! command -v buildah >/dev/null; then
    ok "skipped: buildah is not installed (Debian package buildah), no image build"
else
    bh=(buildah --root "$TMP/buildah/root" --runroot "$TMP/buildah/run" --storage-driver vfs)
    if ! probe=$(timeout 120 "${bh[@]}" from --pull debian:12-slim 2>&1); then
        ok "skipped: 'buildah from debian:12-slim' fails: no registry reachable from here, so no image build"
    else
        "${bh[@]}" rm "$(tail -1 <<<"$probe")" >/dev/null 2>&1
        if timeout 1800 "${bh[@]}" bud --isolation chroot --ignorefile container/Dockerfile.dockerignore \
            --build-arg VERSION=container-test -f "$DOCKERFILE" -t localhost/spilo-agent:test . \
            >"$TMP/bud.log" 2>&1; then
            ok "buildah bud container/Dockerfile"
            cfg=$("${bh[@]}" inspect --type image --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Cmd}} {{.OCIv1.Config.ExposedPorts}}' localhost/spilo-agent:test 2>&1)
            contains "image config: user 101:103" "$cfg" "101:103"
            contains "image config: port 8009" "$cfg" "8009/tcp"
            ctr=$("${bh[@]}" from localhost/spilo-agent:test 2>/dev/null | tail -1)
            out=$("${bh[@]}" run --isolation chroot "$ctr" -- /usr/local/bin/spilo-agent version 2>&1)
            contains "the image's binary runs" "$out" "container-test"
        else
            nok "buildah bud container/Dockerfile: $(tail -5 "$TMP/bud.log")"
        fi
    fi
fi

finish
