#!/usr/bin/python3
"""Prints what tests/integration/test_container.sh checks in a Dockerfile, one `key<TAB>value`
line each: the stages' base images, the packages each stage installs with apt-get, and the final
stage's USER, EXPOSE, ENTRYPOINT, CMD, HEALTHCHECK and COPY --from lines.

Usage: dockerfile_facts.py Dockerfile
"""
import json
import re
import shlex
import sys

text = open(sys.argv[1]).read()
# join continuation lines, drop comments
lines, cur = [], ""
for raw in text.splitlines():
    if raw.lstrip().startswith("#") and not cur:
        continue
    if raw.rstrip().endswith("\\"):
        cur += raw.rstrip()[:-1] + " "
        continue
    cur += raw
    if cur.strip():
        lines.append(cur.strip())
    cur = ""

stages = []
for line in lines:
    word, _, rest = line.partition(" ")
    word = word.upper()
    if word == "FROM":
        parts = rest.split()
        stages.append({"from": parts[0], "name": parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else "",
                       "instr": []})
    elif stages:
        stages[-1]["instr"].append((word, rest.strip()))


def apt_packages(stage):
    pkgs = []
    for word, rest in stage["instr"]:
        if word != "RUN":
            continue
        for cmd in re.split(r"&&|;|\|\|", rest):
            toks = shlex.split(cmd)
            if len(toks) >= 2 and toks[0] in ("apt-get", "apt") and "install" in toks:
                pkgs += [t for t in toks[toks.index("install") + 1:] if not t.startswith("-")]
    return pkgs


def out(key, value):
    print(f"{key}\t{value}")


out("stages", len(stages))
for i, st in enumerate(stages):
    tag = "final" if i == len(stages) - 1 else f"stage{i}"
    out(f"{tag}.from", st["from"])
    out(f"{tag}.packages", " ".join(apt_packages(st)))
    runs = " && ".join(rest for word, rest in st["instr"] if word == "RUN")
    out(f"{tag}.runs_make", "yes" if re.search(r"(^|[\s&;])make(\s|$)", runs) else "no")
final = stages[-1]["instr"] if stages else []
for key in ("USER", "EXPOSE", "ENTRYPOINT", "CMD"):
    vals = [rest for word, rest in final if word == key]
    out(f"final.{key.lower()}", vals[-1] if vals else "")
out("healthcheck", "yes" if any(word == "HEALTHCHECK" for st in stages for word, _ in st["instr"]) else "no")
for word, rest in final:
    if word == "ENTRYPOINT" or word == "CMD":
        try:
            out(f"final.{word.lower()}.exec_form", "yes" if isinstance(json.loads(rest), list) else "no")
        except ValueError:
            out(f"final.{word.lower()}.exec_form", "no")
out("final.copies", " | ".join(rest for word, rest in final if word == "COPY"))
