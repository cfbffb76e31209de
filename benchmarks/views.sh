#!/usr/bin/env bash
# Reproduces the "Reports and the Jira issues list" figures in BENCHMARKS.md: security report ingestion
# (real reports from Tests/ServerTests/Fixtures/security) and the Jira issues list against the emulator,
# answered from the 30 s cache or from Jira. Needs: wrk, curl.
# Environment: BENCH_BIN=DIR uses the binaries in DIR; BENCH_SECONDS (10) sets the wrk run; VIEWS_SAMPLES (20) the uploads per report.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
work=$(mktemp -d)
trap 'kill $(cat "$work/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin/jira-emulator" --port 0 --seed > "$work/emu.log" 2>&1 &
echo $! >> "$work/pids"
JIRA_BRIDGE_LOG_LEVEL=warning "$bin/jira-bridge" serve --port 0 --data-dir "$work/data" --allow-local-requests > "$work/log" 2>&1 &
echo $! >> "$work/pids"
for _ in $(seq 1 100); do grep -q "listening on" "$work/log" && grep -q "listening on" "$work/emu.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$work/log" | head -1)
emu=$(sed -n 's/.*listening on \(http:\/\/[0-9.]*:[0-9]*\).*/\1/p' "$work/emu.log" | head -1)
base="http://127.0.0.1:$port"
token=$(cat "$work/data/admin-token")
curl -s -X POST "$base/api/v4/projects" -H "PRIVATE-TOKEN: $token" -H 'Content-Type: application/json' \
  -d '{"id": 42, "path_with_namespace": "acme/shop", "name": "Shop", "web_url": "https://gitlab.example.com/acme/shop"}' >/dev/null
curl -s -X PUT "$base/api/v4/projects/42/integrations/jira" -H "PRIVATE-TOKEN: $token" \
  -d active=true -d url="$emu" -d username=jira-bot -d password=secret-token -d issues_enabled=true -d project_keys=PROJ >/dev/null
for i in $(seq 1 97); do
  curl -s -X POST "$emu/_emulator/issues" -d "{\"project\": \"PROJ\", \"summary\": \"Issue $i\", \"labels\": [\"bench\"]}" >/dev/null
done

echo "== report ingestion (median of 20 uploads, time to the 201)"
for f in gl-sast-report.semgrep-analyzer-python-flask.json codeql-2.19.3-python.sarif gl-dependency-scanning-report.gemnasium-defectdojo.json; do
  path="Tests/ServerTests/Fixtures/security/$f"
  for i in $(seq 1 "${VIEWS_SAMPLES:-20}"); do
    curl -s -o /dev/null -w "%{time_total}\n" -X POST "$base/api/v4/projects/42/security/reports" -H "PRIVATE-TOKEN: $token" \
      -H 'Content-Type: application/json' --data-binary @"$path"
  done | sort -n | sed -n "$(( (${VIEWS_SAMPLES:-20} + 1) / 2 ))p" | awk -v f="$f" -v size="$(stat -c %s "$path")" '{printf "%s (%d bytes): %.1f ms\n", f, size, $1 * 1000}'
done

echo "== Jira issues list, 100 issues, per_page=20"
echo "-- from the cache (the same query), 16 connections"
wrk -t1 -c16 -d"${BENCH_SECONDS:-10}s" --latency -H "PRIVATE-TOKEN: $token" "$base/api/v4/projects/42/integrations/jira/issues?per_page=20" \
  | grep -E "Requests/sec|50%|99%"
echo "-- from Jira (a new search text each time: the cache never answers), 1 connection"
for i in $(seq 1 "$(( ${VIEWS_SAMPLES:-20} * 5 / 2 ))"); do
  curl -s -o /dev/null -w "%{time_total}\n" -H "PRIVATE-TOKEN: $token" "$base/api/v4/projects/42/integrations/jira/issues?per_page=20&search=issue+$i"
done | sort -n | awk '{a[NR]=$1} END {printf "p50 %.1f ms, p90 %.1f ms over %d requests\n", a[int(NR/2)]*1000, a[int(NR*0.9)]*1000, NR}'
