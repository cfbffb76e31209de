#!/usr/bin/env bash
# PostgreSQL figures in BENCHMARKS.md ("PostgreSQL and several processes"), release build, whole processes:
#   intake   webhook intake at 1, 16 and 64 connections on SQLite and on PostgreSQL, one active integration
#            against the emulator (planning and deliveries run during the measurement);
#   intake-only  the same with no integration (the project registered only), as benchmarks/run.sh measures it;
#   drain    a burst of 1,000 pushes and the time until its 2,000 deliveries are done, on SQLite and on PostgreSQL
#            (benchmarks/drain.sh, which also counts PostgreSQL's statements per webhook);
#   processes  one, two and three processes on one PostgreSQL database, 64 connections in all split between them
#            (one wrk per process), one after another ("two" runs one and two only);
#   failover three processes, one killed with SIGKILL every 10 s, during 10,000 webhooks (benchmarks/failover.py).
# With no argument: intake, drain, processes and failover. PostgreSQL 15 runs from a throwaway cluster (scripts/postgres-cluster) with
# its durable defaults (fsync on). Needs wrk (Debian package).
# Environment: BENCH_BIN=DIR uses the binaries in DIR; BENCH_SECONDS (10) sets each wrk run; BENCH_DRAIN_PUSHES (1000)
# the drain's burst; BENCH_STORES ("sqlite postgres") the stores of the intake runs; FAILOVER_ARGS are
# passed to failover.py (the CI smoke pass: --total 200 --kill-every 2).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
. benchmarks/lib.sh
pgdir=$(mktemp -d)  # apart from $work: the cluster's user must reach it
trap 'kill $(cat "$work/pids" 2>/dev/null) 2>/dev/null || true; scripts/postgres-cluster stop "$pgdir"; rm -rf "$work"' EXIT
what=${1:-all}
pg=$(scripts/postgres-cluster start "$pgdir")
jira=$(start jira "$bin/jira-emulator" --port 0 --deployment server --seed)
key=$(head -c 32 /dev/urandom | base64)
admin=bench-admin-token-0123456789abcdef

database() {  # a fresh PostgreSQL database; prints its URL (called in $(...), so named by the clock)
    local name="bench_$(date +%s%N)"
    /usr/lib/postgresql/15/bin/psql "$pg" -X -q -c "CREATE DATABASE $name"
    echo "$pg" | sed "s#/postgres?#/$name?#"
}

serve() {  # name, database URL; prints the port
    mkdir -p "$work/$1"
    start "$1" env JIRA_BRIDGE_WEBHOOK_SECRET=bench-secret JIRA_BRIDGE_LOG_LEVEL=warning JIRA_BRIDGE_SECRET_KEY="$key" \
        JIRA_BRIDGE_ADMIN_TOKEN="$admin" "$bin/jira-bridge" serve --port 0 --data-dir "$work/$1" --database-url "$2" --allow-local-requests
}

configure() {  # port
    curl -sf -X POST "http://127.0.0.1:$1/api/v4/projects" -H "PRIVATE-TOKEN: $admin" -H 'Content-Type: application/json' \
      -d '{"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}' >/dev/null
    curl -sf -X PUT "http://127.0.0.1:$1/api/v4/projects/42/integrations/jira" -H "PRIVATE-TOKEN: $admin" -H 'Content-Type: application/json' \
      -d "{\"active\": true, \"url\": \"http://127.0.0.1:$jira\", \"username\": \"jira-bot\", \"password\": \"secret-token\"}" >/dev/null
}

rss() { awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/"$(cat "$work/$1.pid")"/status; }

wrk_run() {  # connections, port
    wrk -t 1 -c "$1" -d "${BENCH_SECONDS:-10}s" --latency -s benchmarks/intake.lua "http://127.0.0.1:$2/webhooks/gitlab" -- "p$2-" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
}

if [ "$what" = all ] || [ "$what" = intake ] || [ "$what" = intake-only ]; then
    # intake-only: the project is registered with no integration, as benchmarks/run.sh measures intake.
    for store in ${BENCH_STORES:-sqlite postgres}; do
        if [ $store = sqlite ]; then url="sqlite:$work/$store-intake.sqlite"; else url=$(database); fi
        port=$(serve "$store-intake" "$url")
        if [ "$what" = intake-only ]; then
            curl -sf -X POST "http://127.0.0.1:$port/api/v4/projects" -H "PRIVATE-TOKEN: $admin" -H 'Content-Type: application/json' \
              -d '{"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}' >/dev/null
        else
            configure "$port"
        fi
        echo "== $what on $store (idle RSS $(rss "$store-intake"))"
        for c in 1 16 64; do
            echo "-- $c connections"
            wrk_run "$c" "$port"
        done
        echo "RSS after: $(rss "$store-intake")"
        kill "$(cat "$work/$store-intake.pid")"
        sleep 2
    done
fi

if [ "$what" = all ] || [ "$what" = drain ]; then
    for store in sqlite postgres; do
        echo "== drain on $store: ${BENCH_DRAIN_PUSHES:-1000} pushes, twice as many deliveries"
        BENCH_BIN=$bin benchmarks/drain.sh "$store" "${BENCH_DRAIN_PUSHES:-1000}" | grep -E "intake|drain|statements:"
    done
fi

if [ "$what" = all ] || [ "$what" = processes ] || [ "$what" = two ]; then
    if [ "$what" = two ]; then counts="1 2"; else counts="1 2 3"; fi
    for n in $counts; do
        url=$(database)
        ports=()
        for i in $(seq 1 "$n"); do ports+=("$(serve "p$n-$i" "$url")"); done
        configure "${ports[0]}"
        sleep 2
        each=$((64 / n))
        echo "== $n process(es) on one PostgreSQL database, $each connections each, at once"
        for i in $(seq 1 "$n"); do wrk_run "$each" "${ports[$((i - 1))]}" > "$work/wrk-$n-$i" & done
        wait
        cat "$work"/wrk-"$n"-*
        python3 -c "import re,sys; print('together:', round(sum(float(re.search(r'Requests/sec:\s+(\S+)', open(f).read()).group(1)) for f in sys.argv[1:])), 'requests/s')" "$work"/wrk-"$n"-*
        for i in $(seq 1 "$n"); do kill "$(cat "$work/p$n-$i.pid")"; done
        sleep 2
    done
fi

if [ "$what" = all ] || [ "$what" = failover ]; then
    echo "== failover: three processes, one killed with SIGKILL every 10 s, 10,000 webhooks"
    python3 benchmarks/failover.py --bin "$bin/jira-bridge" --database-url "$(database)" --jira "http://127.0.0.1:$jira" ${FAILOVER_ARGS:-}
fi
