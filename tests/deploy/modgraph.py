#!/usr/bin/python3
"""Fails on a cycle in the module graph: between objects of the link graph (object A uses a symbol
object B defines, read with `nm`), and between headers of include/ (#include "x.h").

Usage: modgraph.py [OBJDIR]     (default build/obj; main.o is the top and may use anything)
Prints each cycle as `a -> b -> a` with one symbol (or include) per edge.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def link_graph(objdir):
    # the objects of today's agent/*.c (a stale object of a removed source does not count)
    objs = sorted(o for o in glob.glob(os.path.join(objdir, "*.o"))
                  if os.path.exists(os.path.join(ROOT, "agent", os.path.basename(o)[:-2] + ".c")))
    if not objs:
        sys.exit(f"modgraph: no objects in {objdir}; build first (make)")
    out = subprocess.run(["nm", "-P", "-A"] + objs, capture_output=True, text=True,
                         check=True).stdout
    defined, undefined = {}, {}
    for line in out.splitlines():
        # "build/obj/x.o: sym T 0 10"
        m = re.match(r"^(.*?):\s*(\S+)\s+([A-Za-z])\b", line)
        if not m:
            continue
        mod = os.path.basename(m.group(1))[:-2]
        sym, kind = m.group(2), m.group(3)
        if kind == "U":
            undefined.setdefault(mod, set()).add(sym)
        elif kind.isupper():
            defined[sym] = mod
    edges = {}
    for mod, syms in undefined.items():
        for s in sorted(syms):
            to = defined.get(s)
            if to and to != mod:
                edges.setdefault(mod, {}).setdefault(to, s)
    return edges


def include_graph():
    edges = {}
    for h in sorted(glob.glob(os.path.join(ROOT, "include/*.h"))):
        name = os.path.basename(h)
        with open(h) as f:
            for line in f:
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if m and m.group(1) != name:
                    edges.setdefault(name, {}).setdefault(m.group(1), "#include")
    return edges


def cycles(edges):
    """Strongly connected components with more than one node (Tarjan), each as one cycle path."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    nodes = sorted(set(edges) | {t for e in edges.values() for t in e})

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    out = []
    for comp in comps:
        # one shortest cycle through the component's first node (breadth-first inside it)
        start, inside = comp[0], set(comp)
        prev, todo = {start: None}, [start]
        path = None
        while todo and path is None:
            nxt = []
            for v in todo:
                for w in sorted(edges.get(v, {})):
                    if w == start:
                        path = [w]
                        x = v
                        while x is not None:
                            path.append(x)
                            x = prev[x]
                        path.reverse()
                        break
                    if w in inside and w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if path:
                    break
            todo = nxt
        out.append((comp, path))
    return out


def report(kind, edges):
    bad = 0
    for comp, path in cycles(edges):
        steps = " -> ".join(f"{a} ({edges[a][b]})" for a, b in zip(path, path[1:])) + f" -> {path[-1]}"
        print(f"modgraph: {kind} cycle among {', '.join(comp)}: {steps}")
        bad += 1
    return bad


def main():
    objdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/obj")
    links = link_graph(objdir)
    bad = report("link", links) + report("include", include_graph())
    n = len(set(links) | {t for e in links.values() for t in e})
    print(f"modgraph: {n} modules, {sum(len(e) for e in links.values())} link edges, "
          f"{bad} cycles")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
