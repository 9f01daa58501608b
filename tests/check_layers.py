#!/usr/bin/python3
"""Fails when a file under user/ includes a header across a forbidden arrow.

    python3 tests/check_layers.py [ROOT]

The parts of user/ and what each may include (besides its own folder and
system headers). Arrows run one way: cli -> model -> locks -> proc; the
model reaches out/ only through its emit callback (out/event.h is the event
type every part speaks); only kernel/ includes a BPF skeleton; only cli/
knows the command line (cli/options.h).
"""
import os
import re
import sys

ALLOWED = {
    "cli": {"kernel", "model", "locks", "python", "stacks", "proc", "elf", "out", "util", "bpf",
            "report"},
    "kernel": {"proc", "elf", "util", "bpf", "out/event.h", "skel"},
    "model": {"locks", "python", "stacks", "proc", "util", "bpf", "out/event.h"},
    "locks": {"proc", "util", "out/event.h", "out/stack.h"},
    "python": {"proc", "elf", "util", "bpf", "out/event.h", "out/stack.h"},
    "stacks": {"proc", "elf", "python", "util", "out/event.h", "out/stack.h"},
    "proc": {"util"},
    "elf": {"util"},
    "out": {"util"},
    "report": {"util", "out/json.h", "out/strbuf.h", "out/utf8.h"},
    "util": set(),
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def target_of(header):
    """The part (or 'skel', 'bpf') a quoted include names."""
    if header.endswith(".skel.h"):
        return "skel"
    if "/" not in header:
        return "bpf"   # bpf/forktrace.h and friends, found through -Ibpf
    return header.split("/", 1)[0]


def violations(root):
    user = os.path.join(root, "user")
    found = []
    for part in sorted(os.listdir(user)):
        folder = os.path.join(user, part)
        if not os.path.isdir(folder):
            found.append(f"user/{part}: a file outside every part")
            continue
        if part not in ALLOWED:
            found.append(f"user/{part}/: a part this check does not know (add it to ALLOWED)")
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                for header in INCLUDE.findall(f.read()):
                    to = target_of(header)
                    if to == part or to in ALLOWED[part] or header in ALLOWED[part]:
                        continue
                    found.append(f"user/{part}/{name} includes \"{header}\": {part}/ may not "
                                 f"include {to if to in ('skel', 'bpf') else header}")
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    found = violations(root)
    for line in found:
        print(f"FAIL layers: {line}")
    if found:
        print(f"layers: {len(found)} include(s) cross a forbidden arrow (see tests/check_layers.py)")
        return 1
    print("PASS layers: every include in user/ follows the arrows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
