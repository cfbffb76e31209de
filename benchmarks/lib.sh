# Shared by the benchmark scripts: a scratch folder cleaned up on exit, and `start NAME COMMAND...`, which
# runs a server in the background (its pid in $work/NAME.pid), waits for its "listening on" line and
# prints the port it chose.
work=$(mktemp -d)
trap 'kill $(cat "$work/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

start() {
    local name=$1; shift
    "$@" > "$work/$name.log" 2>&1 &
    echo $! >> "$work/pids"
    echo $! > "$work/$name.pid"
    for _ in $(seq 1 100); do grep -q "listening on" "$work/$name.log" && break; sleep 0.1; done
    sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$work/$name.log" | head -1
}

database_url() {  # sqlite|postgres, name; sets $url: a SQLite file in $work, or a throwaway PostgreSQL cluster stopped on exit
    url="sqlite:$work/$2.sqlite"
    if [ "$1" = postgres ]; then
        pgdir=$(mktemp -d)  # apart from $work: the cluster's user must reach it
        # BENCH_KEEP_LOG=FILE keeps the server's log (with PG_OPTIONS' auto_explain, say) before the cluster goes.
        trap 'kill $(cat "$work/pids" 2>/dev/null) 2>/dev/null || true; [ -z "${BENCH_KEEP_LOG:-}" ] || cp "$pgdir/log" "$BENCH_KEEP_LOG"; scripts/postgres-cluster stop "$pgdir"; rm -rf "$work"' EXIT
        url=$(scripts/postgres-cluster start "$pgdir")
    fi
}
