#!/usr/bin/python3
"""Keeps docs/design.md true to the tree: every module in agent/ is described in its module table,
in layer order (a module links only against modules above it in the table: nm of build/obj),
and every mutable file-scope variable of agent/*.c (nm: b/d/B/D symbols of build/obj in .data or
.bss, not the read-only .data.rel.ro) is listed, with a reason, under "Mutable file-scope state";
a listed variable that is gone fails too.

Usage: design_check.py [OBJDIR]     (default build/obj)
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mutable_state(objdir):
    found = set()
    for src in sorted(glob.glob(os.path.join(ROOT, "agent/*.c"))):
        mod = os.path.basename(src)[:-2]
        obj = os.path.join(objdir, mod + ".o")
        if not os.path.exists(obj):
            sys.exit(f"design: {obj} is missing; build first (make)")
        out = subprocess.run(["nm", "-f", "sysv", obj], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            f = [x.strip() for x in line.split("|")]
            if len(f) < 7 or f[2] not in ("b", "d", "B", "D"):
                continue
            if ".rel.ro" in f[6] or not re.match(r"^\.(data|bss)", f[6]):
                continue
            found.add((mod + ".c", f[0].split(".")[0]))
    return found


def main():
    objdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/obj")
    with open(os.path.join(ROOT, "docs/design.md")) as f:
        doc = f.read()
    fail = passed = 0
    m = re.search(r"^## Modules\n(.*?)(?=^## )", doc, re.S | re.M)
    described = set(re.findall(r"^\| `([a-z0-9_]+\.c)`", m.group(1) if m else "", re.M))
    for src in sorted(glob.glob(os.path.join(ROOT, "agent/*.c"))):
        name = os.path.basename(src)
        if name in described:
            passed += 1
        else:
            print(f"design: module agent/{name} is not described in docs/design.md (## Modules)")
            fail += 1
    for name in sorted(described):
        if not os.path.exists(os.path.join(ROOT, "agent", name)):
            print(f"design: docs/design.md describes {name}, which agent/ does not have")
            fail += 1
    order = [n[:-2] for n in re.findall(r"^\| `([a-z0-9_]+\.c)`", m.group(1) if m else "", re.M)]
    pos = {n: i for i, n in enumerate(order)}
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import modgraph  # noqa: E402 (beside this file)

    for a, tos in sorted(modgraph.link_graph(objdir).items()):
        for b, sym in sorted(tos.items()):
            if a in pos and b in pos and pos[b] > pos[a]:
                print(f"design: {a}.c uses {b}.c ({sym}), which docs/design.md lists above it: "
                      f"move {b}.c up the module table, or the dependency down")
                fail += 1
    m = re.search(r"^## Mutable file-scope state\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    listed = set()
    for row in re.findall(r"^\|\s*`([a-z0-9_]+\.c)`\s*\|\s*`([A-Za-z0-9_]+)`\s*\|\s*(.*?)\s*\|\s*$",
                          m.group(1) if m else "", re.M):
        if row[2] and row[2] != "-":
            listed.add((row[0], row[1]))
    found = mutable_state(objdir)
    for item in sorted(found):
        if item in listed:
            passed += 1
        else:
            print(f"design: {item[0]} holds mutable file-scope state `{item[1]}` that docs/design.md "
                  f"does not list (## Mutable file-scope state: | `{item[0]}` | `{item[1]}` | why |)")
            fail += 1
    for item in sorted(listed - found):
        print(f"design: docs/design.md lists `{item[1]}` of {item[0]}, which is no longer there")
        fail += 1
    print(f"design: {passed} passed, {fail} failed")
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
