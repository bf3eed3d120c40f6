#!/usr/bin/python3
"""Prints the installed Debian packages a set of packages pulls in (Depends and Pre-Depends,
recursively, including the packages themselves), one per line, sorted.

Usage: debclosure.py PACKAGE...
       debclosure.py --owners PATH...   prints "PATH<TAB>PACKAGE" for each file's owner (like
                                        dpkg -S, but one pass, and /lib vs /usr/lib agnostic)
Reads the dpkg database (dpkg-query), so every package must be installed on this machine. For an
alternative (`a | b`) the first installed one counts; a virtual package resolves to the installed
package that provides it. tests/integration/test_container.sh uses it to show that every library
the agent loads comes with the runtime packages the container installs.
"""
import glob
import os
import re
import subprocess
import sys


def owners(paths):
    """Owner package of each path, whatever /lib-vs-/usr/lib spelling dpkg recorded (usrmerge)."""
    def spellings(p):
        out = set()
        for q in (p, os.path.realpath(p)):
            out.add(q)
            out.add(q[4:] if q.startswith("/usr/") else "/usr" + q)
        return out
    want = {}
    for p in paths:
        want.setdefault(p, (p, 0))  # the path itself (a symlink's own owner) wins
        for s in spellings(p):
            want.setdefault(s, (p, 1))
    found = {}
    for lst in glob.glob("/var/lib/dpkg/info/*.list"):
        pkg = os.path.basename(lst)[:-5].split(":")[0]
        with open(lst, errors="replace") as f:
            for line in f:
                orig, rank = want.get(line.rstrip("\n"), (None, 0))
                if orig and (orig not in found or rank < found[orig][1]):
                    found[orig] = (pkg, rank)
    for p in paths:
        print(f"{p}\t{found.get(p, ('',))[0]}")


if len(sys.argv) > 1 and sys.argv[1] == "--owners":
    owners(sys.argv[2:])
    sys.exit(0)

FMT = "${Package}\t${db:Status-Abbrev}\t${Depends}\t${Pre-Depends}\t${Provides}\n"
out = subprocess.run(["dpkg-query", "-W", "-f", FMT], capture_output=True, text=True, check=True).stdout

deps, provides = {}, {}
for line in out.splitlines():
    name, status, dep, pre, prov = (line.split("\t") + [""] * 5)[:5]
    if not status.startswith("ii"):
        continue
    deps[name] = [d for d in (dep, pre) if d.strip()]
    for p in prov.split(","):
        p = re.sub(r"\s*\(.*\)", "", p).strip()
        if p:
            provides.setdefault(p, name)


def resolve(alternatives):
    for alt in alternatives.split("|"):
        name = re.sub(r"\s*\(.*\)|\s*\[.*\]", "", alt).strip().split(":")[0]
        if name in deps:
            return name
        if name in provides:
            return provides[name]
    return None


seen, todo, missing = set(), list(sys.argv[1:]), []
while todo:
    pkg = todo.pop()
    if pkg in seen:
        continue
    if pkg not in deps:
        missing.append(pkg)
        continue
    seen.add(pkg)
    for field in deps[pkg]:
        for group in field.split(","):
            target = resolve(group)
            if target and target not in seen:
                todo.append(target)
for pkg in sorted(seen):
    print(pkg)
if missing:
    print("not installed: " + " ".join(sorted(set(missing))), file=sys.stderr)
    sys.exit(1)
