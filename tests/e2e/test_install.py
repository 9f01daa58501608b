"""Shipped like a system tool: --version, `make install`, the man page, bash completion.

The man page and the completion are checked against the binary's own --help at run
time, so an option added to one and not the others fails here.
"""
import os
import re
import shutil
import subprocess

import harness
from harness import Skip, expect, expect_eq, fail, workdir


def git(*args):
    if not shutil.which("git") or not os.path.exists(os.path.join(harness.ROOT, ".git")):
        raise Skip("not a git checkout: no revision to compare with")
    p = subprocess.run(["git", "-C", harness.ROOT, *args], capture_output=True, text=True)
    if p.returncode:
        raise Skip(f"git {' '.join(args)} failed: {p.stderr.strip()}")
    return p.stdout.strip()


def test_version_names_the_git_revision():
    """--version: the version, the commit built from, and "dirty" when the tree was."""
    p = subprocess.run([harness.FORKTRACE, "--version"], capture_output=True, text=True)
    expect_eq("--version exit status", p.returncode, 0)
    m = re.fullmatch(r"forktrace (\d+\.\d+\.\d+) \(git ([0-9a-f]{12})(, dirty)?\)\n", p.stdout)
    expect(m, f"--version printed {p.stdout!r}, want 'forktrace X.Y.Z (git REV[, dirty])'")
    head = git("rev-parse", "HEAD")
    expect(head.startswith(m[2]), f"--version names {m[2]}, the tree is at {head[:12]}: rebuild")
    dirty = git("describe", "--always", "--dirty", "--exclude=*").endswith("-dirty")
    expect_eq("dirty in --version", bool(m[3]), dirty)
