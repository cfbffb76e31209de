#!/usr/bin/env bash
# `jira-bridge keys` on the corpus (BENCHMARKS.md, "Key extraction"): the release binary end to end on the
# corpus repeated 8 times (63 MB of JSON Lines), best of 3, beside a Python script that extracts keys with RE2
# (benchmarks/keys_re2.py, google-re2 installed into a throwaway virtual environment), and the extraction alone
# (`--stats`) on the plain text of all messages.
#   benchmarks/keys.sh
# Environment: BENCH_BIN=DIR uses the binaries in DIR; KEYS_REPEAT (8) sets how often the corpus is repeated;
# KEYS_RE2=0 skips the Python comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
. benchmarks/lib.sh
corpus=python-tests/fixtures/corpus
for _ in $(seq 1 "${KEYS_REPEAT:-8}"); do
    gzip -dc "$corpus/apache-kafka-commit-messages.jsonl.gz" "$corpus/apache-commons-lang-commit-messages.jsonl.gz"
done > "$work/corpus.jsonl"
size=$(stat -c %s "$work/corpus.jsonl")
mb() { python3 -c "print(f'{$size / 1e6 / $1:.1f}')"; }
best() {  # command...: the best wall time of 3 runs, in seconds
    local best=999
    for _ in 1 2 3; do
        local t0 t1
        t0=$(date +%s.%N); "$@" < "$work/corpus.jsonl" > "$work/out"; t1=$(date +%s.%N)
        best=$(python3 -c "print(round(min($best, $t1 - $t0), 3))")
    done
    echo "$best"
}
echo "== keys --jsonl on the corpus x${KEYS_REPEAT:-8} ($((size / 1000000)) MB, $(wc -l < "$work/corpus.jsonl") lines), $(nproc) cores"
t=$(best "$bin/jira-bridge" keys --jsonl)
/usr/bin/time -f "%M" -o "$work/rss" "$bin/jira-bridge" keys --jsonl < "$work/corpus.jsonl" > /dev/null
echo "jira-bridge keys --jsonl: $t s, $(mb "$t") MB/s, max RSS $(( $(cat "$work/rss") / 1024 )) MB"
if [ "${KEYS_RE2:-1}" != 0 ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check google-re2==1.1.20240702
    r=$(best "$work/venv/bin/python" benchmarks/keys_re2.py)
    echo "Python + RE2 (benchmarks/keys_re2.py): $r s, $(mb "$r") MB/s; jira-bridge is $(python3 -c "print(f'{$r / $t:.1f}')") times faster"
fi
python3 -c "
import json,sys
print('\n\n'.join(json.loads(l)['message'] for l in open('$work/corpus.jsonl')))" > "$work/corpus.txt"
"$bin/jira-bridge" keys --stats < "$work/corpus.txt" 2>&1 >/dev/null | sed 's/^/extraction only, plain text: /'
"$bin/jira-bridge" keys --jsonl --stats < "$work/corpus.jsonl" 2>&1 >/dev/null | sed 's/^/extraction only, JSON Lines: /'
