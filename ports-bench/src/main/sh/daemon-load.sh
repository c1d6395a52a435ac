#!/usr/bin/env bash
# The registry daemon under load, with wrk (Debian package wrk), against a bare Netty HTTP server as
# the ceiling, all on 127.0.0.1 in one run:
#
#   1. `ports serve` on a free port with a temporary data dir and rate limiting off; 100 services
#      registered (POST /ports/allocate, type dynamic).
#   2. The bare server (io.ports.bench.server.BareHttpServer) answering exactly the bytes of the
#      daemon's GET /ports/directory, so both send the same response.
#   3. wrk, each run bounded by -d: a warm-up of each server (not reported), then
#        bare:       GET /ports/directory from the bare server
#        directory:  GET /ports/directory from the daemon (100 services)
#        pairs:      POST /ports/allocate then POST /ports/release of the new id (wrk/pairs.lua),
#                    durable: the daemon acknowledges each only once its file store has it on disk
#   4. The figures against the targets: directory >= 50% of bare, >= 3,000 pairs/s, p99 < 10 ms;
#      any non-2xx answer or socket error is a failure (wrk itself exits 0 even then).
#
# Usage (from anywhere; build first: mvn -q -B -DskipTests -pl ports-server,ports-bench -am package):
#   flock /tmp/ports-bench.lock ports-bench/src/main/sh/daemon-load.sh [DURATION [CONNECTIONS]]
# DURATION of each measured wrk run (default 10s), CONNECTIONS (default 16); wrk uses 2 threads.
# Environment: DAEMON_LOAD_WARMUP, each warm-up's length (default 10s, at most 25s); DAEMON_JAVA_OPTS,
# JVM options of the daemon (e.g. a GC); PAIRS_RATE, see wrk/pairs.lua.
# Prints wrk's reports, one RESULT line per run, and the verdict; writes
# ports-bench/target/daemon-load.json. Exits 1 when a target is missed or an answer failed.
# Stops both servers and removes the data dir on exit, also on failure or Ctrl-C.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
here="$root/ports-bench/src/main/wrk"
ports_jar="$root/ports-server/target/ports.jar"
bench_jar="$root/ports-bench/target/benchmarks.jar"
duration="${1:-10s}"
connections="${2:-16}"
warmup="${DAEMON_LOAD_WARMUP:-10s}"
services=100

for tool in wrk curl java; do
    command -v "$tool" >/dev/null || { echo "daemon-load: $tool is missing (Debian: apt-get install $tool)" >&2; exit 1; }
done
for jar in "$ports_jar" "$bench_jar"; do
    [ -f "$jar" ] || { echo "daemon-load: no $jar: build first (mvn -q -B -DskipTests -pl ports-server,ports-bench -am package)" >&2; exit 1; }
done
[[ "$warmup" =~ ^([1-9]|1[0-9]|2[0-5])s$ ]] || { echo "daemon-load: invalid DAEMON_LOAD_WARMUP '$warmup': expected 1s-25s (the 100 records expire 30 s after their last heartbeat, and the script heartbeats them between runs)" >&2; exit 2; }
[[ "$duration" =~ ^[0-9]+[smh]?$ ]] || { echo "daemon-load: invalid duration '$duration': expected e.g. 10s" >&2; exit 2; }
[[ "$connections" =~ ^[0-9]+$ ]] && [ "$connections" -ge 2 ] || { echo "daemon-load: invalid connections '$connections': expected 2 or more" >&2; exit 2; }

work="$(mktemp -d /tmp/ports-daemon-load.XXXXXX)"
daemon_pid=""
bare_pid=""
cleanup() {
    # only the two processes this script started, by pid
    for pid in $bare_pid $daemon_pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the daemon
java ${DAEMON_JAVA_OPTS:-} -jar "$ports_jar" serve --port 0 --data-dir "$work/data" --rate-limit 0 --lock-dir "$work/locks" \
    >"$work/daemon.out" 2>"$work/daemon.err" &
daemon_pid=$!
for _ in $(seq 300); do
    [ -s "$work/data/daemon.json" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || { echo "daemon-load: ports serve exited:" >&2; cat "$work/daemon.err" >&2; exit 1; }
    sleep 0.1
done
[ -s "$work/data/daemon.json" ] || { echo "daemon-load: no daemon.json after 30 s" >&2; cat "$work/daemon.err" >&2; exit 1; }
url="$(sed -E 's/.*"url" *: *"([^"]+)".*/\1/' "$work/data/daemon.json")"
token="$(cat "$work/data/admin.token")"
export PORTS_TOKEN="$token"

ids=()
for i in $(seq -w 1 "$services"); do
    code="$(curl -s -o "$work/allocate.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' --data "{\"service_name\":\"svc-$i\",\"service_type\":\"dynamic\"}" "$url/ports/allocate")"
    [ "$code" = 201 ] || { echo "daemon-load: allocating svc-$i answered $code: $(cat "$work/allocate.json")" >&2; exit 1; }
    ids+=("$(sed -E 's/.*"allocation_id":"([^"]+)".*/\1/' "$work/allocate.json")")
done
# Heartbeats keep the 100 records ACTIVE (not EXPIRED after their 30 s timeout), so that the directory
# stays the same bytes as the bare server's body while both are measured.
heartbeat_all() {
    local id
    for id in "${ids[@]}"; do
        curl -sf -o /dev/null -X POST -H "Authorization: Bearer $token" "$url/ports/heartbeat/$id" \
            || { echo "daemon-load: heartbeat of $id failed" >&2; exit 1; }
    done
}
heartbeat_all
curl -sf -o "$work/directory.json" "$url/ports/directory"
count="$(grep -o '"allocation_id"' "$work/directory.json" | wc -l || true)"
[ "$count" -eq "$services" ] || { echo "daemon-load: the directory lists $count allocations, expected $services" >&2; exit 1; }

# ---------------------------------------------------------------- the bare server, same body
coproc BARE { exec java -cp "$bench_jar" io.ports.bench.server.BareHttpServer 0 "$work/directory.json" 2>"$work/bare.err"; }
bare_pid=$BARE_PID
read -r -t 30 line <&"${BARE[0]}" || { echo "daemon-load: the bare server did not start" >&2; cat "$work/bare.err" >&2; exit 1; }
bare_port="${line#LISTENING }"
bare_port="${bare_port%% *}"
bare_url="http://127.0.0.1:$bare_port"

echo "daemon: $url (pid $daemon_pid, $(head -1 "$work/daemon.out"))"
echo "bare:   $bare_url (pid $bare_pid, ${line#LISTENING $bare_port })"
echo "body:   $(wc -c <"$work/directory.json") bytes, $services services"
echo "wrk:    $(wrk -v 2>&1 | head -1 | cut -c1-60); -t2 -c$connections -d$duration --timeout 2s"
echo "java:   $(java -version 2>&1 | head -1); $(nproc) CPUs; $(uptime | sed 's/.*load/load/')"

cpu_ticks() { # PID: user + system CPU time of a process so far, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}
run() { # NAME PID URL SCRIPT [ARGS...]: one measured wrk run against the server PID, its RESULT line kept with the server's CPU time
    local name="$1" pid="$2" target="$3" script="$4"
    shift 4
    echo
    echo "== $name"
    local before after
    before="$(cpu_ticks "$pid")"
    wrk -t2 -c"$connections" -d"$duration" --timeout 2s --latency -s "$here/$script" "$target" "$@" | tee "$work/$name.txt"
    after="$(cpu_ticks "$pid")"
    local result
    result="$(grep '^RESULT ' "$work/$name.txt" | sed 's/^RESULT //')"
    local requests
    requests="$(sed -E 's/.*"requests":([0-9]+).*/\1/' <<<"$result")"
    local cpu_ms=$(( (after - before) * 1000 / $(getconf CLK_TCK) ))
    local per_request
    per_request="$(awk -v c="$cpu_ms" -v r="$requests" 'BEGIN { printf "%.1f", (r > 0 ? 1000 * c / r : 0) }')"
    echo "server CPU: $cpu_ms ms over the run, $per_request µs per request"
    echo "${result%\}},\"server_cpu_ms\":$cpu_ms,\"server_cpu_us_per_request\":$per_request}" >"$work/$name.result"
}
warm() { # URL SCRIPT [ARGS...]: a warm-up (JIT), not reported
    local target="$1" script="$2"
    shift 2
    wrk -t2 -c"$connections" -d"$warmup" --timeout 2s -s "$here/$script" "$target" "$@" >/dev/null
}

warm "$bare_url/ports/directory" get.lua bare
heartbeat_all
warm "$url/ports/directory" get.lua directory
heartbeat_all
run bare "$bare_pid" "$bare_url/ports/directory" get.lua bare
heartbeat_all
run directory "$daemon_pid" "$url/ports/directory" get.lua directory
# the same bytes as the bare server's the whole time (the pairs, which add records, come after)
curl -sf -o "$work/directory-after.json" "$url/ports/directory"
[ "$(wc -c <"$work/directory-after.json")" -eq "$(wc -c <"$work/directory.json")" ] \
    || echo "daemon-load: note: the directory changed size during the run (a record expired?)" >&2
warm "$url" pairs.lua dynamic
run pairs "$daemon_pid" "$url" pairs.lua dynamic

curl -sf -o "$work/stats.json" "$url/ports/stats"
echo
echo "daemon stats after the runs: $(cat "$work/stats.json")"

# ---------------------------------------------------------------- verdict
field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" "$work/$1.result"; }
bare_rps="$(field bare requests_per_second)"
dir_rps="$(field directory requests_per_second)"
pairs_ps="$(field pairs pairs_per_second)"
status=0
verdict() { # OK? MESSAGE
    if [ "$1" = 1 ]; then echo "  met:    $2"; else echo "  MISSED: $2"; status=1; fi
}
echo
echo "targets:"
ratio="$(awk -v d="$dir_rps" -v b="$bare_rps" 'BEGIN { printf "%.1f", 100 * d / b }')"
verdict "$(awk -v r="$ratio" 'BEGIN { print (r >= 50) }')" \
    "GET /ports/directory at $dir_rps req/s = $ratio% of the bare server's $bare_rps req/s (target >= 50%)"
verdict "$(awk -v p="$pairs_ps" 'BEGIN { print (p >= 3000) }')" "$pairs_ps durable allocate+release pairs/s (target >= 3,000)"
for name in directory pairs; do
    p99="$(field $name p99_ms)"
    verdict "$(awk -v p="$p99" 'BEGIN { print (p < 10) }')" "$name p99 $p99 ms (target < 10 ms)"
done
for name in bare directory pairs; do
    bad="$(( $(field $name non_2xx) + $(field $name socket_errors) ))"
    verdict "$([ "$bad" -eq 0 ] && echo 1 || echo 0)" "$name: $(field $name non_2xx) non-2xx answers, $(field $name socket_errors) socket errors (target 0)"
done
if [ "$(field pairs failed)" != 0 ] || [ "$(field pairs unparsed)" != 0 ]; then
    verdict 0 "pairs: $(field pairs failed) failed and $(field pairs unparsed) unreadable answers"
fi

mkdir -p "$root/ports-bench/target"
{
    echo "{\"duration\":\"$duration\",\"connections\":$connections,\"threads\":2,\"services\":$services,"
    echo "\"uptime\":\"$(uptime | sed 's/.*load average: //')\",\"cpus\":$(nproc),"
    echo "\"bare\":$(cat "$work/bare.result"),\"directory\":$(cat "$work/directory.result"),\"pairs\":$(cat "$work/pairs.result")}"
} >"$root/ports-bench/target/daemon-load.json"
echo "results: ports-bench/target/daemon-load.json"
exit $status
