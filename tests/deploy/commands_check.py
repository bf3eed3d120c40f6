#!/usr/bin/python3
"""Fails when a command that `make test`, `make demo` or `make bench` runs is not provided by a
Debian package the Makefile installs (or by the base system a fresh Debian 12 minbase plus
`git ca-certificates make` has).

Usage: commands_check.py [--without PKG]...
  --without PKG   drop PKG from the Makefile's list first (the test's negative control: without
                  clang-format the check must fail and name it)

Commands come from a static extraction of the Makefile recipes and every tests/**/*.sh (first word
of each simple command, after assignments and wrappers such as `timeout 5` or `exec`), plus
EXPLICIT for what that cannot see (commands under a variable path, run by Python, or by make
itself). Each is resolved with `command -v`; its owner (dpkg -S, through debclosure.py --owners)
must be in the Depends closure of the Makefile's packages (debclosure.py) or of the base system.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLOSURE = os.path.join(ROOT, "tests/deploy/debclosure.py")

# What the static extraction cannot see: commands behind a variable ($PG_BIN/initdb, $CC, $(AR)),
# run by make's own rules, or started from Python helpers and tools.
EXPLICIT = [
    "cc", "ar", "pkg-config", "pg_config", "clang-14", "clang-format", "git", "make",
    "/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/15/bin/pg_ctl",
    "/usr/lib/postgresql/15/bin/psql", "/usr/lib/postgresql/15/bin/postgres",
    "python3", "node", "npm", "kubectl", "valgrind", "promtool", "patroni", "etcd", "etcdctl",
    "aws", "curl", "jq", "openssl", "yamllint", "ss", "ps", "pgrep", "dpkg-query", "apt-get", "nm",
]
# Built by the tests themselves, or installed from npm into build/ (s3rver).
ALLOWED_UNPACKAGED = re.compile(r"^(\$|build/|\./|tests/)|s3rver")
WRAPPERS = {"exec", "env", "nohup", "command", "sudo", "time", "!", "xargs", "setsid", "nice",
            "stdbuf", "then", "do", "else", "elif", "if", "while", "until", "{", "(", "builtin"}


def sh_lines():
    """(origin, text) for every recipe line of the Makefile and every line of the test scripts."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("\t"):
            line = re.sub(r"^\t[@+-]*(\$\(Q\))?", "", line).replace("$$", "$")
            yield f"Makefile:{n}", line
    scripts = glob.glob(os.path.join(ROOT, "tests/**/*.sh"), recursive=True)
    for path in sorted(scripts):
        heredoc = None
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if heredoc:  # a here-document's body is data (often Python), not commands
                    if line.strip() == heredoc:
                        heredoc = None
                    continue
                m = re.search(r"<<-?\s*['\"]?([A-Za-z_]+)['\"]?", line)
                if m:
                    heredoc = m.group(1)
                yield f"{os.path.relpath(path, ROOT)}:{n}", line


def unquote(line):
    """Blanks single-quoted text and double-quoted text outside $( ), so that a `|` or `;` in a
    string does not start a command."""
    out, i, state = [], 0, [""]  # state stack: "" shell, '"' in double quotes, "(" in $( )
    while i < len(line):
        c, top = line[i], state[-1]
        if c == "\\":
            out.append("  ")
            i += 2
            continue
        if top == '"':
            if c == '"':
                state.pop()
            elif line.startswith("$(", i):
                state.append("(")
                out.append("$(")
                i += 2
                continue
            out.append(" ")
        elif c == "'":
            j = line.find("'", i + 1)
            j = len(line) if j < 0 else j
            out.append(" " * (j - i + 1))
            i = j + 1
            continue
        else:
            if c == '"':
                state.append('"')
            elif c == "(":
                state.append("(")
            elif c == ")" and top == "(":
                state.pop()
            out.append(c)
        i += 1
    return "".join(out)


def first_words(line):
    line = re.sub(r"(^|\s)#.*", "", unquote(line))
    for seg in re.split(r"\|\||&&|[|;&`]|\$\(|\(|\)|\{|\}", line):
        words = seg.split()
        while words:
            w = words[0]
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w) or w in WRAPPERS or w.startswith("-"):
                words.pop(0)
            elif w == "timeout":
                words.pop(0)
                while words and (words[0].startswith("-") or re.match(r"^[0-9.]+[smh]?$", words[0])):
                    words.pop(0)
            else:
                break
        if words and re.match(r"^(/[A-Za-z0-9/_.+-]+|[A-Za-z0-9][A-Za-z0-9_.+-]*)$", words[0]):
            yield words[0]


def resolve(names):
    """name -> absolute path for the ones found on PATH (or given as an existing path)."""
    # PATH of a fresh Debian: a command found only under /usr/local or a home directory on this
    # machine would be missing there.
    env = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    script = 'for c in "$@"; do p=$(type -P -- "$c") && printf "%s\\t%s\\n" "$c" "$p"; done'
    out = subprocess.run(["bash", "-c", script, "resolve"] + sorted(names), capture_output=True,
                         text=True, env=env).stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


def makefile_packages():
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "print-debs"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def base_packages():
    """A fresh Debian 12 minbase (Essential and Priority required) plus git ca-certificates make."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Essential}\t${Priority}\n"],
                         capture_output=True, text=True, check=True).stdout
    base = ["git", "ca-certificates", "make"]
    for line in out.splitlines():
        name, ess, prio = (line.split("\t") + ["", ""])[:3]
        if ess == "yes" or prio == "required":
            base.append(name)
    return base


def closure(pkgs):
    r = subprocess.run([sys.executable, CLOSURE] + pkgs, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"commands: {r.stderr.strip()} (install them first: make deps)")
    return set(r.stdout.split())


def main():
    without = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--without"]
    seen = {}
    for origin, line in sh_lines():
        for w in first_words(line):
            seen.setdefault(w, origin)
    for c in EXPLICIT:
        seen.setdefault(c, "EXPLICIT")
    paths = resolve(seen)
    fail = 0
    for c in EXPLICIT:
        if c not in paths:
            print(f"commands: {c} (needed by make test/demo/bench) is not installed")
            fail += 1
    pkgs, conditional = [], {}
    for p in makefile_packages():
        cmd, _, pkg = p.rpartition("=")
        if pkg in without:
            continue
        if cmd:
            conditional[cmd] = pkg  # installed by `make deps` only when the command is missing
        else:
            pkgs.append(pkg)
    allowed = closure(pkgs) | closure(base_packages())
    want = {c: p for c, p in paths.items() if not ALLOWED_UNPACKAGED.search(p)
            and not p.startswith(ROOT + "/") and c not in conditional}
    r = subprocess.run([sys.executable, CLOSURE, "--owners"] + sorted(set(want.values())),
                       capture_output=True, text=True, check=True).stdout
    owner = dict(line.split("\t", 1) for line in r.splitlines())
    passed = 0
    for c in sorted(want):
        pkg = owner.get(want[c], "")
        if not pkg:
            print(f"commands: {c} ({want[c]}, first used at {seen[c]}) belongs to no Debian package")
            fail += 1
        elif pkg not in allowed:
            print(f"commands: {c} (first used at {seen[c]}) comes from Debian package {pkg}, which "
                  f"the Makefile does not install: add {pkg} to DEB_TEST or DEB_BUILD")
            fail += 1
        else:
            passed += 1
    print(f"commands: {passed} passed, {fail} failed")
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
