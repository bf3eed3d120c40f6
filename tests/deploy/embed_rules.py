#!/usr/bin/env python3
"""Rewrites the copy of deploy/monitoring/spilo-agent.rules.yml's groups that `install` applies
(agent/install_objects.c, rules_groups_json). Run after changing the rules; test_install.sh fails
while the two differ."""
import json
import os
import re

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
groups = yaml.safe_load(open(os.path.join(ROOT, "deploy/monitoring/spilo-agent.rules.yml")))["groups"]
raw = json.dumps(groups, separators=(",", ":"), ensure_ascii=False)
lines = []
i = 0
while i < len(raw):
    j = min(i + 90, len(raw))
    # end a piece between words, so that no piece looks like a metric name to tests/docs-check.sh
    while j < len(raw) and j > i + 40 and (raw[j - 1].isalnum() or raw[j - 1] == "_"):
        j -= 1
    lines.append('    "%s"' % raw[i:j].replace("\\", "\\\\").replace('"', '\\"'))
    i = j
p = os.path.join(ROOT, "agent/install_objects.c")
src = open(p).read()
src = re.sub(r"(static const char rules_groups_json\[\] =\n).*?;\n",
             lambda m: m.group(1) + "\n".join(lines) + ";\n", src, count=1, flags=re.S)
open(p, "w").write(src)
