#!/usr/bin/env bash
# The node of StartupBenchmark as a whole process (io.ports.bench.manager.NodeStartMain).
#
# 1. Launch to READY, 10 runs: the time from starting `java` until the READY line arrives on the
#    pipe (bash, date +%s%N), with the phases NodeStartMain prints; the median is printed last.
# 2. hyperfine (apt-get install hyperfine), 2 warm-ups and 10 runs each, whole processes:
#      jvm:   a main that does nothing (the JVM's own start and exit, same class path)
#      halt:  launch, five services bound and registered, READY, Runtime.halt(0)
#      close: the same, then PortManager.close() and a normal return from main
#
# Needs ports-bench/target/benchmarks.jar (built by scripts/bench, or mvn -q -B package in ports-bench).
# Arguments go to hyperfine. Uses a temporary lock directory, removed at the end.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
jar="$root/ports-bench/target/benchmarks.jar"
[ -f "$jar" ] || { echo "no $jar: build it first" >&2; exit 1; }

locks="$(mktemp -d /tmp/ports-bench-startup-process.XXXXXX)"
trap 'rm -rf "$locks"' EXIT
main="io.ports.bench.manager.NodeStartMain"

echo "launch to READY (ms), 10 runs:"
times=()
for i in $(seq 10); do
    start=$(date +%s%N)
    ready=""
    while read -r line; do
        case "$line" in READY*) ready=$(( ($(date +%s%N) - start) / 1000000 )) ;; esac
    done < <(java -cp "$jar" "$main" "$locks" halt 2>"$locks/phases")
    [ -n "$ready" ] || { echo "run $i: no READY" >&2; cat "$locks/phases" >&2; exit 1; }
    echo "  $ready  ($(cat "$locks/phases"))"
    times+=("$ready")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median launch to READY: %s ms (min %s, max %s)\n", (a[5]+a[6])/2, a[1], a[NR]}'

command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install hyperfine): whole-process times skipped" >&2; exit 0; }
hyperfine -N --warmup 2 --runs 10 --export-json "$root/ports-bench/target/startup-process.json" "$@" \
    -n jvm "java -cp $jar io.ports.bench.manager.Nothing" \
    -n halt "java -cp $jar $main $locks halt" \
    -n close "java -cp $jar $main $locks close"
