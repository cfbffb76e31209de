#!/usr/bin/env python3
"""Checks that Package.swift declares exactly what each target imports, and the module rules of
docs/architecture.md: the core (Integration) imports only the C library, Forges only the core and
Foundation. Run by scripts/test; exits 1 with the differences."""
import glob
import os
import re
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
package = open("Package.swift").read()
targets = {}
for m in re.finditer(r'\.(?:target|executableTarget|testTarget)\(\s*name:\s*"([^"]+)",\s*dependencies:\s*\[(.*?)\]\s*,', package, re.S):
    deps = m.group(2)
    packages = set(re.findall(r'package:\s*"([^"]+)"', deps))
    products = set(re.findall(r'product\(name:\s*"([^"]+)"', deps))
    targets[m.group(1)] = (set(re.findall(r'"([A-Za-z0-9_\-]+)"', deps)) - packages) | products

system = {"Foundation", "Testing", "Glibc", "Darwin", "Synchronization", "Dispatch", "XCTest"}
allowed_system = {"Integration": {"Glibc", "Darwin"}, "Forges": {"Foundation"}}
problems = []
for name, declared in targets.items():
    folder = "Sources/" + name if os.path.isdir("Sources/" + name) else "Tests/" + name
    imported = set()
    for path in glob.glob(folder + "/**/*.swift", recursive=True):
        for line in open(path, encoding="utf-8"):
            m = re.match(r"\s*(?:@testable\s+|@_exported\s+)?import\s+(?:struct |class |enum |func )?([A-Za-z0-9_]+)", line)
            if m:
                imported.add(m.group(1))
    if name in allowed_system:
        extra = {i for i in imported & system if i not in allowed_system[name]}
        if extra:
            problems.append(f"{name} may not import {sorted(extra)}")
    imported -= system
    if imported - declared:
        problems.append(f"{name} imports {sorted(imported - declared)} without declaring them in Package.swift")
    if declared - imported:
        problems.append(f"{name} declares {sorted(declared - imported)} but never imports them")

for p in problems:
    print("check-imports:", p)
sys.exit(1 if problems else 0)
