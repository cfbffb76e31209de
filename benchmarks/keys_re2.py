#!/usr/bin/env python3
"""The comparison for `jira-bridge keys --jsonl` (BENCHMARKS.md, "Key extraction"): JSON Lines on stdin, the
Jira keys of each message with RE2 (pip package google-re2), one JSON line out per message. It does less than
jira-bridge: no closing references, no code masking, no de-duplication order rules."""
import json
import sys

import re2

KEY = re2.compile(r"\b([A-Z][A-Z_0-9]+-\d+)")
out = sys.stdout
for line in sys.stdin.buffer:
    if line.strip():
        doc = json.loads(line)
        out.write(json.dumps({"id": doc.get("id"), "mentions": list(dict.fromkeys(KEY.findall(doc["message"])))}) + "\n")
