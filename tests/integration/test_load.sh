#!/usr/bin/env bash
# The daemon under load: 1,000 concurrent keep-alive connections asking /status and /metrics
# while a kubelet-like probe measures /livez; a slowloris crowd that must be cut off after
# [agent] request_timeout; RSS bounded and not growing from one round to the next; a clean stop.
#
# The agent runs without PostgreSQL or S3 (every check reports unknown; the checks still run
# every second against dead addresses, so the loop also does check work during the load).
#
# Rounds 1 and 2: 1,000 connections, each asking again after a random 0-500 ms (a few thousand
# requests a second in all, some hundred times what a Spilo pod sees from kubelet and
# Prometheus). Round 3: the same connections back to back, as fast as the client can go.
#
# Timing: the one latency assertion is the issue's "/livez answers within 10 ms under load", in
# rounds 1 and 2. It is measured the way a kubelet probes (a new connection per probe, connect to
# last byte) over PROBES sequential probes while the load runs. This machine is shared and has 2
# cores, which the agent, the load generator and the probe share: a probe can lose its core to the
# scheduler for a time slice or two, which says nothing about the agent. So the assertion allows
# an outlier budget of 5 % of the probes above 10 ms, and none above 1 s (a wedged loop would blow
# both); a window of probes that misses the budget gets up to two more windows under the same
# load (another tenant's burst passes, a slow agent does not). The load generator runs at nice 10 so
# that it, not the agent or the probe, is what yields when the cores are short. Round 3 saturates the single-threaded loop: a probe then waits behind up to 1,000 queued
# /status and /metrics answers (tens of ms, see docs/performance.md), so there only the 1 s bound
# is asserted and the percentiles are printed.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"

CONNS=${LOAD_CONNS:-1000}
SLOW_CONNS=${LOAD_SLOW_CONNS:-300}
PROBES=${LOAD_PROBES:-150}
LIVEZ_MS=10
OUTLIERS=$((PROBES * 5 / 100))
RSS_MAX_KB=$((64 * 1024))   # generous: the agent idles at a few MiB
RSS_GROWTH_KB=$((4 * 1024)) # round 2 may not end more than this above round 1
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3  # only the standard library is used

# Every connection is a file descriptor on both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 8192 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNS + 200)) ]; then
    nok "open files limit $(ulimit -n) is below $((CONNS + 200)) (raise the hard limit: ulimit -Hn)"
    finish
    exit 1
fi

cat >"$TMP/loadgen.py" <<'PY'
# loadgen.py MODE ...: the load, probe and slowloris clients of test_load.sh (stdlib only).
import asyncio, json, os, random, socket, sys, time

def write(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.rename(path + ".tmp", path)

async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(hdrs.get("content-length", "0")))
    return status, hdrs, body

async def load(port, conns, ready, stop, out, paths, max_seconds, pace_ms):
    """conns keep-alive connections, all open at once, each asking paths in turn until stop,
    waiting a random 0..2*pace_ms between its requests (0: back to back, saturating)."""
    sem = asyncio.Semaphore(100)  # the listen backlog is 511: connect in waves
    stopped = asyncio.Event()
    stats = {"connected": 0, "answered": 0, "requests": 0, "non200": 0, "closed_by_server": 0,
             "errors": [], "open_at_end": 0}

    async def connect(i):
        async with sem:
            return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)

    async def client(i, rw, go):
        reader, writer = rw
        n = 0
        try:
            await go.wait()
            while True:
                path = paths[(i + n) % len(paths)]
                writer.write(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path.encode())
                status, hdrs, _ = await asyncio.wait_for(read_response(reader), 15)
                n += 1
                stats["requests"] += 1
                if n == 1:
                    stats["answered"] += 1
                if status != 200:
                    stats["non200"] += 1
                if hdrs.get("connection", "").lower() == "close":
                    stats["closed_by_server"] += 1
                    return
                if stopped.is_set():
                    break
                if pace_ms > 0:
                    await asyncio.sleep(random.uniform(0, 2 * pace_ms) / 1000)
            stats["open_at_end"] += 1
        except Exception as e:  # noqa: BLE001 - counted and reported
            if len(stats["errors"]) < 10:
                stats["errors"].append("conn %d after %d answers: %r" % (i, n, e))
            else:
                stats["errors"].append("")
        finally:
            writer.close()

    rws = await asyncio.gather(*(connect(i) for i in range(conns)), return_exceptions=True)
    ok = [(i, rw) for i, rw in enumerate(rws) if not isinstance(rw, BaseException)]
    stats["connected"] = len(ok)
    stats["connect_errors"] = [repr(rw) for rw in rws if isinstance(rw, BaseException)][:5]
    go = asyncio.Event()
    tasks = [asyncio.create_task(client(i, rw, go)) for i, rw in ok]
    t0 = time.monotonic()
    go.set()
    open(ready, "w").close()
    while not os.path.exists(stop) and time.monotonic() - t0 < max_seconds:
        await asyncio.sleep(0.05)
    stopped.set()
    await asyncio.gather(*tasks)
    stats["seconds"] = round(time.monotonic() - t0, 2)
    stats["errors_total"] = len(stats["errors"])
    stats["errors"] = [e for e in stats["errors"] if e]
    write(out, stats)

def probe(port, n, interval_ms, out, path=b"/livez"):
    """n sequential probes, a new connection each (like a kubelet httpGet probe)."""
    lat, bad = [], []
    for i in range(n):
        t0 = time.perf_counter()
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            ms = (time.perf_counter() - t0) * 1000
            if not data.startswith(b"HTTP/1.1 200"):
                bad.append("probe %d: %r" % (i, data[:60]))
            lat.append(ms)
        except Exception as e:  # noqa: BLE001
            bad.append("probe %d: %r" % (i, e))
            lat.append((time.perf_counter() - t0) * 1000)
        time.sleep(interval_ms / 1000)
    lat_sorted = sorted(lat)
    write(out, {"n": n, "bad": bad, "max_ms": round(lat_sorted[-1], 2),
                "p50_ms": round(lat_sorted[len(lat) // 2], 2),
                "p99_ms": round(lat_sorted[min(len(lat) - 1, int(len(lat) * 0.99))], 2),
                "sorted_ms": [round(x, 2) for x in lat_sorted]})

async def slowloris(port, conns, max_seconds, out):
    """conns connections sending a request head one byte a second; when does the server cut?"""
    res = {"connected": 0, "cut": 0, "got_408": 0, "open_at_end": 0, "cut_after_max_s": 0.0,
           "cut_after_min_s": None}

    async def one(i):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        except Exception:  # noqa: BLE001
            return
        res["connected"] += 1
        t0 = time.monotonic()
        got = b""
        writer.write(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        try:
            while time.monotonic() - t0 < max_seconds:
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), 1.0)
                except asyncio.TimeoutError:
                    writer.write(b"a")  # one header byte a second
                    await writer.drain()
                    continue
                if not chunk:
                    break
                got += chunk
            else:
                res["open_at_end"] += 1
                writer.close()
                return
        except (ConnectionError, OSError):
            pass
        took = time.monotonic() - t0
        res["cut"] += 1
        res["got_408"] += got.startswith(b"HTTP/1.1 408")
        res["cut_after_max_s"] = max(res["cut_after_max_s"], round(took, 2))
        mn = res["cut_after_min_s"]
        res["cut_after_min_s"] = round(took, 2) if mn is None else min(mn, round(took, 2))
        writer.close()

    await asyncio.gather(*(one(i) for i in range(conns)))
    write(out, res)

mode = sys.argv[1]
if mode == "load":
    port, conns, ready, stop, out, maxs, pace = sys.argv[2:9]
    asyncio.run(load(int(port), int(conns), ready, stop, out, sys.argv[9:], float(maxs), float(pace)))
elif mode == "probe":
    probe(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
elif mode == "slowloris":
    asyncio.run(slowloris(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]))
PY

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$AGENT_PID/status"; }
j() { jq -r "$1" "$2"; } # j FILTER FILE

# Nothing on this machine is contacted: PostgreSQL, Patroni and the envdir point nowhere.
dead=$(free_port)
agent_start load --set agent.interval=1s --set agent.request_timeout=2s \
    --set agent.check_timeout=1s --set agent.log_format=text \
    --set "postgres.conninfo=host=127.0.0.1 port=$dead connect_timeout=1" \
    --set "postgres.patroni_url=http://127.0.0.1:$dead" --set "walg.envdir=$TMP/no-envdir"
if ! wait_http "$AGENT_URL/readyz" 200 20; then
    nok "agent ready"
    tail -20 "$AGENT_LOG"
    finish
    exit 1
fi
ok "agent ready (checks report unknown: no PostgreSQL, no S3)"
RSS_IDLE=$(rss_kb)

# round N PACE_MS STRICT: CONNS keep-alive connections on /status and /metrics, each waiting a
# random 0..2*PACE_MS between requests (0: back to back), probing /livez meanwhile; STRICT=1
# asserts the 10 ms budget.
round() {
    local n=$1 pace=$2 strict=$3 r=$TMP/round$1
    rm -f "$r.ready" "$r.stop"
    nice -n 10 "$PY" "$TMP/loadgen.py" load "$AGENT_PORT" "$CONNS" "$r.ready" "$r.stop" "$r.load.json" 30 \
        "$pace" /status /metrics 2>"$r.load.err" &
    local lpid=$!
    for _ in $(seq 1 400); do [ -f "$r.ready" ] || ! kill -0 $lpid 2>/dev/null && break; sleep 0.05; done
    if [ ! -f "$r.ready" ]; then
        wait $lpid
        nok "round $n: the load client did not get going: $(tail -3 "$r.load.err")"
        return
    fi
    sleep 0.5 # let the load reach its stride
    # A window of PROBES probes (100 in the saturating round, which only prints them); a strict
    # round that misses the budget gets up to two more windows under the same running load
    # (scheduler noise passes, a slow agent does not), while the test is under 40 s.
    local w over=0 windows=0 summary="" np=$PROBES
    [ "$strict" = 1 ] || np=100
    for w in 1 2 3; do
        "$PY" "$TMP/loadgen.py" probe "$AGENT_PORT" "$np" 20 "$r.probe$w.json"
        windows=$w
        over=$(jq "[.sorted_ms[] | select(. > $LIVEZ_MS)] | length" "$r.probe$w.json")
        summary+="${summary:+; then }p50 $(j .p50_ms "$r.probe$w.json") ms, p99 $(j .p99_ms "$r.probe$w.json") ms, max $(j .max_ms "$r.probe$w.json") ms, $over over $LIVEZ_MS ms"
        if [ "$strict" != 1 ] || [ "$over" -le "$OUTLIERS" ] || [ "$SECONDS" -ge 40 ]; then break; fi
    done
    local alive=0
    kill -0 $lpid 2>/dev/null && alive=1
    touch "$r.stop"
    wait $lpid
    eq "round $n: the load was still running when the last probe finished" 1 "$alive"
    eq "round $n: $CONNS connections open at once" "$CONNS" "$(j .connected "$r.load.json")"
    eq "round $n: every connection got an answer" "$CONNS" "$(j .answered "$r.load.json")"
    eq "round $n: every connection is still open (keep-alive) at the end" "$CONNS" \
        "$(j .open_at_end "$r.load.json")"
    local errs
    errs=$(j '.errors + .connect_errors | join("; ")' "$r.load.json")
    eq "round $n: no errors${errs:+ ($errs)}" 0 "$(j .errors_total "$r.load.json")"
    eq "round $n: every answer is 200" 0 "$(j .non200 "$r.load.json")"
    local req secs bad=0 max=0
    req=$(j .requests "$r.load.json"); secs=$(j .seconds "$r.load.json")
    echo "#    round $n (pause 0-$((2 * pace)) ms): $req requests in ${secs}s over $CONNS connections" \
        "($(awk -v r="$req" -v s="$secs" 'BEGIN { printf "%d", r / s }') req/s)"
    echo "#    round $n: /livez, $np probes a window: $summary"
    for ((w = 1; w <= windows; w++)); do
        bad=$((bad + $(j '.bad|length' "$r.probe$w.json")))
        max=$(awk -v a="$max" -v b="$(j .max_ms "$r.probe$w.json")" 'BEGIN { print (b > a ? b : a) }')
    done
    local badtxt
    badtxt=$(jq -rs 'map(.bad[]) | .[:3] | join("; ")' "$r".probe*.json)
    eq "round $n: every /livez probe answered 200${badtxt:+ ($badtxt)}" 0 "$bad"
    if [ "$strict" = 1 ]; then
        check "round $n: /livez within $LIVEZ_MS ms for all but $OUTLIERS of $PROBES probes ($over over, window $windows)" \
            test "$over" -le "$OUTLIERS"
    fi
    check "round $n: no /livez probe took a second (max $max ms)" \
        awk -v m="$max" 'BEGIN { exit !(m < 1000) }'
    sleep 1 # the closed connections' handles are freed on the next loop turn
}

round 1 250 1
RSS1=$(rss_kb)
round 2 250 1
RSS2=$(rss_kb)
echo "#    VmRSS: idle ${RSS_IDLE} kB, after round 1 ${RSS1} kB, after round 2 ${RSS2} kB"
check "RSS after the load is below $((RSS_MAX_KB / 1024)) MiB (${RSS2} kB)" test "$RSS2" -lt "$RSS_MAX_KB"
check "RSS does not keep growing: round 2 ends within $((RSS_GROWTH_KB / 1024)) MiB of round 1 ($RSS1 -> $RSS2 kB)" \
    test "$RSS2" -le $((RSS1 + RSS_GROWTH_KB))
round 3 0 0
RSS3=$(rss_kb)
echo "#    VmRSS after the saturating round ${RSS3} kB"
check "RSS after the saturating round is below $((RSS_MAX_KB / 1024)) MiB (${RSS3} kB)" \
    test "$RSS3" -lt "$RSS_MAX_KB"

# ---- slowloris: SLOW_CONNS connections sending one header byte a second ---------------------
S=$TMP/slow
"$PY" "$TMP/loadgen.py" slowloris "$AGENT_PORT" "$SLOW_CONNS" 10 "$S.json" 2>"$S.err" &
spid=$!
sleep 0.5
"$PY" "$TMP/loadgen.py" probe "$AGENT_PORT" 50 20 "$S.probe.json"
status_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$AGENT_URL/status")
wait $spid
eq "slowloris: all $SLOW_CONNS connections were accepted" "$SLOW_CONNS" "$(j .connected "$S.json")"
eq "slowloris: the agent cut every one of them" "$SLOW_CONNS" "$(j .cut "$S.json")"
eq "slowloris: each was told 408" "$SLOW_CONNS" "$(j .got_408 "$S.json")"
# request_timeout is 2 s; bytes keep arriving every second, which must not extend it. The cut
# lands at 2 s after the first byte; 5 s leaves room for a busy machine, 10 s would be a miss.
check "slowloris: cut after request_timeout, not before and not much after ($(j .cut_after_min_s "$S.json")-$(j .cut_after_max_s "$S.json") s)" \
    awk -v a="$(j .cut_after_min_s "$S.json")" -v b="$(j .cut_after_max_s "$S.json")" \
    'BEGIN { exit !(a >= 1.9 && b < 5) }'
badtxt=$(j '.bad[:3] | join("; ")' "$S.probe.json")
eq "slowloris: /livez kept answering meanwhile${badtxt:+ ($badtxt)}" 0 "$(j '.bad|length' "$S.probe.json")"
echo "#    slowloris: /livez p50 $(j .p50_ms "$S.probe.json") ms, max $(j .max_ms "$S.probe.json") ms"
eq "slowloris: /status kept answering meanwhile" 200 "$status_code"
sleep 0.5
RSS4=$(rss_kb)
echo "#    VmRSS after slowloris ${RSS4} kB"
check "RSS after slowloris still below $((RSS_MAX_KB / 1024)) MiB" test "$RSS4" -lt "$RSS_MAX_KB"

not_contains "the connection limit was never hit" "$(cat "$AGENT_LOG")" "connection limit"
eq "still answering after everything" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$AGENT_URL/livez")"
agent_stop
eq "the daemon stops cleanly (exit 0)" 0 "$AGENT_RC"
not_contains "no leaked handles at exit" "$(cat "$AGENT_LOG")" "open handles"
finish
