#!/usr/bin/env bash
# Secure proxy vs nginx and HAProxy, side by side in one run, with the shared harness (../shared/bench):
# mTLS HTTP/1.1 keep-alive, h2, new mTLS connections/s, CPU per 1,000 requests, and the proxy's RSS.
#
# Usage: benchmarks/run-proxy-bench.sh [--sustain SECONDS] [--only keel|--no-peers] [--no-build]
#   --sustain S   after the suite, load the Keel proxy for S seconds more (h2 then HTTP/1.1, half each)
#                 and sample its RSS every 15 s: the leak check (300 = the 5-minute run). Default 0.
#   --no-peers    run the suite against Keel only (nginx and HAProxy are not started)
#   --no-build    use keel-cli/target/keel.jar as it is
# env: REPS=3 (suite repetitions) D=10 (seconds per load run) BENCH=<harness dir> BENCH_WORK=/tmp/meshbench
#      JAVA=java  KEEL_PORT=18445 KEEL_ADMIN=18446  JVM_OPTS (replaces the defaults below)
#      KEEL_JAR (default keel-cli/target/keel.jar, rebuilt when older than the proxy's sources)
#      ACCESS_LOG=file|off (default file: one JSON line per request to $BENCH_WORK/keel/access.log,
#      written in 100 ms batches with `--access-log`; nginx and HAProxy run with access logs off)
#      WARMUP=30 (seconds of h2 and of HTTP/1.1 load, with 5 s of new connections between, on the Keel proxy before its suite, so that it is
#      measured with its hot path compiled, as it runs in production; 0 = none)
#      NICE=0 (run everything this script starts, peers included, at this nice level; e.g. -5 on a
#      machine shared with builds, so that the proxies and load generators get their cores)
#
# Layout (the harness's): every proxy under test pinned to CPU 0 with one worker thread; the nginx
# backend (:18080) and the load generators share CPU 1. Results: $BENCH_WORK/results/proxy-bench-<time>/,
# with summary.md holding the table. Everything binds 127.0.0.1 only; every load run is bounded.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HERE="$ROOT/benchmarks"
BENCH="${BENCH:-$(cd "$ROOT/../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)}"
export BENCH_WORK="${BENCH_WORK:-/tmp/meshbench}"
export REPS="${REPS:-3}" D="${D:-10}"
SUSTAIN=0; PEERS=1; BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --sustain) SUSTAIN="$2"; shift 2;;
    --only) [ "$2" = keel ] || { echo "--only: keel (got $2)" >&2; exit 2; }; PEERS=0; shift 2;;
    --no-peers) PEERS=0; shift;;
    --no-build) BUILD=0; shift;;
    -h|--help) sed -n '2,23p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2;;
  esac
done
RUN_ID="$(date +%Y%m%d-%H%M%S)"
export OUTDIR="$BENCH_WORK/results/proxy-bench-$RUN_ID"
mkdir -p "$OUTDIR"
KD="$BENCH_WORK/keel"; mkdir -p "$KD"
KEEL_PORT="${KEEL_PORT:-18445}"; KEEL_ADMIN="${KEEL_ADMIN:-18446}"
JAVA="${JAVA:-java}"
JAR="${KEEL_JAR:-$ROOT/keel-cli/target/keel.jar}"
ACCESS_LOG="${ACCESS_LOG:-file}"
WARMUP="${WARMUP:-30}"
NICE="${NICE:-0}"
if [ "$NICE" != 0 ]; then renice -n "$NICE" -p $$ >/dev/null; fi
# Measured choices (see BENCHMARKS.md, issue 8): C2 only, one compiler thread (tiered compilation's
# C1 tiers cost more memory and, on one core, compile time, for no steady-state gain after the
# warm-up); a 32 MB heap with a 10 MB young generation and the serial collector (one core: a
# concurrent collector only steals it; a small eden keeps the touched heap, and so RSS, small); one
# direct and one heap arena with 2 MB chunks (one event loop); leak detection off (the harness is
# not a test); the native heap trimmed every 10 s and two malloc arenas (what the JIT mallocs while
# warming up is returned); code cache and metaspace capped. Override with JVM_OPTS.
JVM_OPTS="${JVM_OPTS:--Xms32m -Xmx32m -Xmn10m -XX:+UseSerialGC -Xss512k -XX:-TieredCompilation -XX:CICompilerCount=1 \
-XX:ReservedCodeCacheSize=24m -XX:MaxMetaspaceSize=64m -XX:TrimNativeHeapInterval=10000 \
-Dio.netty.allocator.numDirectArenas=1 -Dio.netty.allocator.numHeapArenas=1 -Dio.netty.allocator.maxOrder=8 \
-Dio.netty.leakDetection.level=disabled}"
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
LOG_OPTS="-Dorg.slf4j.simpleLogger.logFile=$KD/proxy.log"
KEEL_ARGS=()
if [ "$ACCESS_LOG" = off ]; then
  LOG_OPTS="$LOG_OPTS -Dorg.slf4j.simpleLogger.log.keel.access=warn"
else
  rm -f "$KD/access.log"
  KEEL_ARGS=(--access-log "$KD/access.log")
fi

say() { printf '\n== %s\n' "$*"; }
run() { echo "+ $*"; "$@"; }
rss_kb() { local t=0 p; for p in $1; do [ -r "/proc/$p/status" ] && t=$((t + $(awk '/^VmRSS/{print $2}' "/proc/$p/status"))); done; echo "$t"; }

# --- build ---------------------------------------------------------------------------------------
if [ "$BUILD" = 1 ] && [ -z "${KEEL_JAR:-}" ]; then
  if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/secure-proxy/src/main" "$ROOT/keel-cli/src/main" -newer "$JAR" -type f | head -1)" ]; then
    say "building keel-cli (the proxy and everything it needs)"
    (cd "$ROOT" && run mvn -B -o -q install -pl keel-cli -am -Dmaven.test.skip=true)
  fi
fi
[ -f "$JAR" ] || { echo "no $JAR (build with: mvn -B -o install -pl keel-cli -am -Dmaven.test.skip=true)" >&2; exit 1; }

# --- machine -------------------------------------------------------------------------------------
{
  echo "run: $RUN_ID  reps=$REPS d=${D}s sustain=${SUSTAIN}s access_log=$ACCESS_LOG"
  echo "nproc: $(nproc); cpu: $(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}')"
  echo "uptime at start: $(uptime)"
  echo "java: $("$JAVA" -version 2>&1 | head -1)"
  echo "keel JVM: $JVM_OPTS (MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX)"
  echo "nginx: $(nginx -v 2>&1)  haproxy: $(haproxy -v 2>/dev/null | head -1)"
} | tee "$OUTDIR/machine.txt"

# --- cleanup: only what this script started ------------------------------------------------------
KEEL_PID=""
cleanup() {
  if [ -n "$KEEL_PID" ] && kill -0 "$KEEL_PID" 2>/dev/null; then
    kill "$KEEL_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$KEEL_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$KEEL_PID" 2>/dev/null || true
  fi
  [ "$PEERS" = 1 ] && { "$BENCH/peers/haproxy-mtls.sh" stop || true; "$BENCH/peers/nginx-mtls.sh" stop || true; }
  "$BENCH/peers/backend-nginx.sh" stop || true
}
trap cleanup EXIT

# --- harness prerequisites and peers (README order) ------------------------------------------------
"$BENCH/pki/gen-certs.sh" "$BENCH_WORK/pki" >/dev/null
[ -f "$BENCH_WORK/mtls-shim.so" ] || "$BENCH/tools/build-shim.sh" >/dev/null
# A previous run that was interrupted may have left the harness's daemons up (its pid files say which).
"$BENCH/peers/backend-nginx.sh" stop >/dev/null 2>&1 || true
"$BENCH/peers/nginx-mtls.sh" stop >/dev/null 2>&1 || true
"$BENCH/peers/haproxy-mtls.sh" stop >/dev/null 2>&1 || true
say "backend"
run "$BENCH/peers/backend-nginx.sh" start
peer_rss=""
if [ "$PEERS" = 1 ]; then
  say "nginx"
  run "$BENCH/peers/nginx-mtls.sh" start
  run "$BENCH/run-proxy-suite.sh" nginx 127.0.0.1:18443 "$BENCH_WORK/nginx-mtls.pids"
  peer_rss="$peer_rss nginx=$(rss_kb "$(cat "$BENCH_WORK/nginx-mtls.pids")")KB"
  say "haproxy"
  run "$BENCH/peers/haproxy-mtls.sh" start
  run "$BENCH/run-proxy-suite.sh" haproxy 127.0.0.1:18444 "$BENCH_WORK/haproxy-mtls.pids"
  peer_rss="$peer_rss haproxy=$(rss_kb "$(cat "$BENCH_WORK/haproxy-mtls.pids")")KB"
fi

# --- the Keel proxy ------------------------------------------------------------------------------
say "keel"
sed -e "s#@PKI@#$BENCH_WORK/pki#g" -e "s#@PORT@#$KEEL_PORT#g" -e "s#@ADMIN@#$KEEL_ADMIN#g" \
    -e "s#@POLICIES@#$HERE/proxy-bench/policies#g" "$HERE/proxy-bench/proxy.yaml.template" > "$KD/proxy.yaml"
# shellcheck disable=SC2086 # JVM_OPTS is a list of flags
echo "+ taskset -c 0 $JAVA $JVM_OPTS $LOG_OPTS -jar $JAR proxy run --config $KD/proxy.yaml ${KEEL_ARGS[*]}"
# shellcheck disable=SC2086
taskset -c 0 "$JAVA" $JVM_OPTS $LOG_OPTS -jar "$JAR" proxy run --config "$KD/proxy.yaml" --admin-host 127.0.0.1 \
  "${KEEL_ARGS[@]}" > "$KD/stdout.log" 2>&1 &
KEEL_PID=$!
echo "$KEEL_PID" > "$BENCH_WORK/keel.pids"
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$KEEL_ADMIN/ready" >/dev/null 2>&1 && break
  kill -0 "$KEEL_PID" 2>/dev/null || { echo "keel exited:"; cat "$KD/stdout.log"; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$KEEL_ADMIN/ready" >/dev/null || { echo "keel not ready:"; cat "$KD/stdout.log"; exit 1; }
RSS_START=$(rss_kb "$KEEL_PID")
# Sanity: the policy allows the bench client on / and denies it elsewhere (authz really runs).
ok=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$BENCH_WORK/pki/ca.pem" --cert "$BENCH_WORK/pki/client.pem" \
  --key "$BENCH_WORK/pki/client.key" "https://127.0.0.1:$KEEL_PORT/")
denied=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$BENCH_WORK/pki/ca.pem" --cert "$BENCH_WORK/pki/client.pem" \
  --key "$BENCH_WORK/pki/client.key" "https://127.0.0.1:$KEEL_PORT/admin/x")
echo "keel pid $KEEL_PID: GET / -> $ok, GET /admin/x -> $denied (expected 200, 403); RSS at start ${RSS_START} KB"
[ "$ok" = 200 ] && [ "$denied" = 403 ] || { echo "unexpected authorization result"; exit 1; }
if [ "$WARMUP" -gt 0 ]; then
  say "keel warm-up: ${WARMUP}s h2, 5s new connections, ${WARMUP}s HTTP/1.1 (not recorded)"
  D="$WARMUP" WARM=0 OUTDIR="$OUTDIR/warmup" "$BENCH/run-h2load.sh" "127.0.0.1:$KEEL_PORT" keel-warmup-h2 >/dev/null || true
  # New connections too: the handshake and close paths are then compiled before the suite, instead of
  # deoptimizing the steady-state code in the middle of its first measured run.
  D=5 WARM=0 CLOSE=1 OUTDIR="$OUTDIR/warmup" "$BENCH/run-wrk.sh" "127.0.0.1:$KEEL_PORT" keel-warmup-newconn >/dev/null || true
  D="$WARMUP" WARM=0 OUTDIR="$OUTDIR/warmup" "$BENCH/run-wrk.sh" "127.0.0.1:$KEEL_PORT" keel-warmup-h1 >/dev/null || true
fi
RSS_WARM=$(rss_kb "$KEEL_PID")
run "$BENCH/run-proxy-suite.sh" keel "127.0.0.1:$KEEL_PORT" "$BENCH_WORK/keel.pids"
RSS_SUITE=$(rss_kb "$KEEL_PID")

RSS_SERIES=""
if [ "$SUSTAIN" -gt 0 ]; then
  say "sustained load for ${SUSTAIN}s (RSS every 15 s)"
  ( while kill -0 "$KEEL_PID" 2>/dev/null; do echo "$(date +%s) $(rss_kb "$KEEL_PID")"; sleep 15; done ) > "$OUTDIR/keel-rss.series" &
  SAMPLER=$!
  half=$((SUSTAIN / 2))
  D="$half" WARM=0 run "$BENCH/run-h2load.sh" "127.0.0.1:$KEEL_PORT" keel-sustain-h2 || true
  D="$((SUSTAIN - half))" WARM=0 PIDS_FILE="$BENCH_WORK/keel.pids" run "$BENCH/run-wrk.sh" "127.0.0.1:$KEEL_PORT" keel-sustain-h1 || true
  kill "$SAMPLER" 2>/dev/null || true
  RSS_SERIES=$(awk '{printf "%s%d", (NR>1?" ":""), $2/1024}' "$OUTDIR/keel-rss.series")
fi
RSS_END=$(rss_kb "$KEEL_PID")
requests=$(grep -c '"status":200' "$KD/access.log" 2>/dev/null || echo NA)

# --- table ---------------------------------------------------------------------------------------
{
  echo
  echo "uptime at end: $(uptime)"
  echo
  labels=()
  [ "$PEERS" = 1 ] && for n in nginx haproxy; do labels+=("$n-h1-mtls" "$n-h2-mtls" "$n-newconn-mtls" "$n-stime-new"); done
  labels+=(keel-h1-mtls keel-h2-mtls keel-newconn-mtls keel-stime-new)
  [ "$SUSTAIN" -gt 0 ] && labels+=(keel-sustain-h2 keel-sustain-h1)
  python3 "$BENCH/summarize-load.py" "${labels[@]}"
  echo
  echo "keel RSS: start $((RSS_START / 1024)) MB, after warm-up $((RSS_WARM / 1024)) MB, after the suite $((RSS_SUITE / 1024)) MB, at the end $((RSS_END / 1024)) MB"
  [ -n "$RSS_SERIES" ] && echo "keel RSS during the ${SUSTAIN}s sustained run (MB, every 15 s): $RSS_SERIES"
  [ -n "$peer_rss" ] && echo "peer RSS after their suites:$peer_rss"
  echo "access log lines with status 200: $requests"
} | tee "$OUTDIR/summary.md"
echo "results: $OUTDIR"
