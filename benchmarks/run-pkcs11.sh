#!/usr/bin/env bash
# Issue 7: the CA key in a PKCS#11 token (SoftHSM2) vs a file, issuance and CRL signing per second,
# in one JMH run (Pkcs11IssuanceBenchmark, @Param keyKind = file, pkcs11).
#
#   benchmarks/run-pkcs11.sh              # -f 1 -wi 3 -i 5, the figures in BENCHMARKS.md
#   benchmarks/run-pkcs11.sh -t 2         # further JMH options are passed on
#
# SoftHSM2 reads SOFTHSM2_CONF when the JVM loads the PKCS#11 module, and a JVM cannot change its own
# environment, so it has to be set before java starts. This script creates a temporary token
# directory and a softhsm2.conf naming it, exports SOFTHSM2_CONF, and starts JMH; JMH's forked JVM
# inherits the environment, and the benchmark initializes its own token there (and deletes it).
# The directory is removed on exit. REBUILD=1 rebuilds the jar first.
set -euo pipefail

cd "$(dirname "$0")/.."
JAR=benchmarks/target/benchmarks.jar
if [[ ! -f $JAR || ${REBUILD:-0} == 1 ]]; then
  mvn -B -o -q install -pl benchmarks -Dmaven.test.skip=true
fi
command -v softhsm2-util >/dev/null || { echo "softhsm2-util not found (apt-get install softhsm2)" >&2; exit 1; }

HSM=$(mktemp -d -t keel-bench-softhsm.XXXXXX)
trap 'rm -rf "$HSM"' EXIT
mkdir -p "$HSM/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$HSM/tokens" > "$HSM/softhsm2.conf"
export SOFTHSM2_CONF=$HSM/softhsm2.conf

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "java:    $(java -version 2>&1 | head -1)"
echo "softhsm: $(softhsm2-util --version)"
echo "before:  $(uptime)"
echo "command: SOFTHSM2_CONF=$SOFTHSM2_CONF java -jar $JAR Pkcs11IssuanceBenchmark -f 1 -wi 3 -i 5 $*"
java -jar "$JAR" Pkcs11IssuanceBenchmark -f 1 -wi 3 -i 5 "$@"
echo "after:   $(uptime)"
