#!/usr/bin/env bash
# The headline figures of BENCHMARKS.md: key extraction (benchmarks/keys.sh) and webhook intake with and
# without an active integration (benchmarks/intake.sh). Needs wrk (Debian package).
#   benchmarks/run.sh [keys|intake]   (default: both)
# The other scripts: latency.py (webhook to first Jira request), queue.sh (a million deliveries),
# robustness.sh (the largest webhooks), backlog.sh (one site's backlog), views.sh (reports and the issues
# list), postgres.sh (PostgreSQL and several processes). Each takes BENCH_BIN=DIR to use other binaries;
# scripts/bench-smoke runs every one of them briefly, as CI does.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
if [ -z "${BENCH_BIN:-}" ]; then
    swift build -c release --scratch-path .build-release >/dev/null
    export BENCH_BIN=.build-release/release
fi
if [ "$what" = all ] || [ "$what" = keys ]; then benchmarks/keys.sh; fi
if [ "$what" = all ] || [ "$what" = intake ]; then
    benchmarks/intake.sh active
    benchmarks/intake.sh none
fi
