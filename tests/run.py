#!/usr/bin/python3
"""forktrace's test runner: build/unit_tests, then the end-to-end scenarios.

    sudo python3 tests/run.py [-k SUBSTRING] [-t SECONDS]

Prints one line per test (`PASS name`, `FAIL name: reason` followed by indented
details, `SKIP name: reason`) and, last, `N passed, N failed, N skipped`.
Exit status 1 if a test failed or build/forktrace is missing, else 0.
FORKTRACE=/path/to/binary overrides build/forktrace.

Each scenario runs in a forked process with a deadline. The runner is a child
subreaper: after every test it kills whatever that test left behind, however
deeply it was orphaned.
"""
import argparse
import ctypes
import importlib.util
import inspect
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True   # leave no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import harness  # noqa: E402

DEFAULT_TIMEOUT = 20
PR_SET_CHILD_SUBREAPER = 36


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def line(self, status, name, reason="", details=()):
        if status == "PASS":
            self.passed += 1
            print(f"PASS {name}", flush=True)
            return
        if status == "SKIP":
            self.skipped += 1
        else:
            self.failed += 1
        first, *rest = (reason or "(no reason given)").splitlines() or [""]
        print(f"{status} {name}: {first}", flush=True)
        for d in list(rest) + list(details):
            print(f"    {d}", flush=True)

    def summary(self):
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


# ---------------------------------------------------------------- unit tests

def run_unit_tests(tally, pattern):
    exe = os.path.join(harness.BUILD, "unit_tests")
    if not os.path.exists(exe):
        return
    try:
        p = subprocess.run([exe], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=120, cwd=harness.ROOT)
    except subprocess.TimeoutExpired as e:
        tally.line("FAIL", "unit_tests", "timed out after 120s", (e.stdout or "").splitlines()[-10:])
        return
    seen = False
    for line in p.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word not in ("PASS", "FAIL", "SKIP"):
            continue
        seen = True
        name, _, reason = rest.partition(": ")
        if pattern and pattern not in name:
            continue
        tally.line(word, name, reason if word != "PASS" else "")
    crashed = p.returncode < 0 or (p.returncode != 0 and "FAIL " not in p.stdout)
    if crashed or not seen:
        tally.line("FAIL", "unit_tests", f"exit status {p.returncode}"
                   + ("" if seen else ", and no PASS/FAIL line"), p.stderr.splitlines()[-10:])


def run_layer_check(tally, pattern):
    """tests/check_layers.py: no include crosses a forbidden arrow."""
    if pattern and pattern not in "layers":
        return
    sys.path.insert(0, HERE)
    import check_layers
    found = check_layers.violations(harness.ROOT)
    tally.line("FAIL" if found else "PASS", "layers",
               f"{len(found)} include(s) cross a forbidden arrow" if found else "", found)


# ---------------------------------------------------------------- scenarios

def discover(pattern):
    tests = []
    e2e = os.path.join(HERE, "e2e")
    for fname in sorted(os.listdir(e2e)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        modname = fname[:-3]
        spec = importlib.util.spec_from_file_location(f"e2e.{modname}", os.path.join(e2e, fname))
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception as e:  # a broken scenario file fails, it does not stop the run
            tests.append((f"{modname[5:]}", None, f"cannot import {fname}: {type(e).__name__}: {e}"))
            continue
        funcs = [f for n, f in vars(mod).items()
                 if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == mod.__name__]
        for f in sorted(funcs, key=lambda f: f.__code__.co_firstlineno):
            name = f"{modname[5:]}.{f.__name__}"
            if not pattern or pattern in name:
                tests.append((name, f, None))
    return tests


def where_failed(tb):
    frames = [f for f in traceback.extract_tb(tb) if f"{os.sep}e2e{os.sep}" in f.filename]
    if not frames:
        frames = traceback.extract_tb(tb)[-1:]
    return [f"at {os.path.relpath(f.filename, harness.ROOT)}:{f.lineno}: {f.line}" for f in frames[-1:]]


def child_run(func, workdir, wfd):
    """In the forked test process: run the scenario, send back its verdict."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    harness.set_workdir(workdir)
    verdict = {"status": "PASS", "reason": "", "details": []}
    try:
        func()
    except harness.Skip as e:
        verdict = {"status": "SKIP", "reason": str(e), "details": []}
    except AssertionError as e:
        verdict = {"status": "FAIL", "reason": str(e) or "assertion failed", "details": where_failed(e.__traceback__)}
    except BaseException as e:
        verdict = {"status": "FAIL", "reason": f"{type(e).__name__}: {e}", "details": where_failed(e.__traceback__)}
    finally:
        try:
            harness.cleanup()
        except BaseException:
            pass
    data = json.dumps(verdict).encode()
    while data:
        data = data[os.write(wfd, data):]
    os._exit(0)


def descendants(root):
    """pid -> state of every live descendant of root (by walking /proc ppids)."""
    kids, state = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(d))
        state[int(d)] = fields[0]
    out, todo = {}, [root]
    while todo:
        for k in kids.get(todo.pop(), []):
            out[k] = state[k]
            todo.append(k)
    return out


def sweep():
    """Kill and reap every process left below the runner."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = descendants(os.getpid())
        for pid, st in left.items():
            if st != "Z":
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
        if not left:
            return
        time.sleep(0.01)


def artifacts(workdir):
    """Indented details from the last forktrace run of a failed test."""
    out = []
    try:
        names = sorted(os.listdir(workdir))
    except OSError:
        return out
    runs = [n[:-4] for n in names if n.endswith("-forktrace.cmd")]
    if runs:
        base = os.path.join(workdir, runs[-1])

        def read(suffix):
            try:
                with open(base + suffix, errors="replace") as f:
                    return f.read()
            except OSError:
                return None
        out.append("$ " + (read(".cmd") or "").strip())
        rc = read(".rc")
        out.append(f"exit status: {rc.strip()}" if rc else "forktrace was still running")
        err = (read(".err") or "").splitlines()
        if err:
            out.append(f"stderr ({len(err)} lines, last ones):")
            out += ["  " + line[:300] for line in err[-12:]]
        evs = (read(".out") or "").splitlines()
        out.append(f"stdout ({len(evs)} lines, last ones):" if evs else "stdout: empty")
        out += ["  " + line[:300] for line in evs[-10:]]
        rep = (read(".report") or "").split()
        if rep:
            out.append("trigger report: " + " ".join(rep)[:600])
    for n in names:
        if n.endswith("-target.report"):
            with open(os.path.join(workdir, n)) as f:
                out.append(f"target report: " + " ".join(f.read().split())[:600])
    out.append(f"files: {workdir}")
    return out


def run_scenario(tally, name, func, timeout):
    workdir = tempfile.mkdtemp(prefix=f"forktrace-{name}-")
    os.chmod(workdir, 0o755)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        child_run(func, workdir, w)
    os.close(w)
    data, deadline, timed_out = b"", time.monotonic() + timeout, False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([r], [], [], left)
            if ready:
                chunk = os.read(r, 65536)
                if not chunk:
                    break
                data += chunk
    finally:
        os.close(r)
        if timed_out:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        sweep()
    if timed_out:
        verdict = {"status": "FAIL", "reason": f"timed out after {timeout}s", "details": []}
    else:
        try:
            verdict = json.loads(data)
        except ValueError:
            verdict = {"status": "FAIL", "reason": "the test process died without a verdict", "details": []}
    details = verdict["details"]
    if verdict["status"] == "FAIL":
        details += artifacts(workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    tally.line(verdict["status"], name, verdict["reason"], details)


def main():
    ap = argparse.ArgumentParser(description="forktrace tests")
    ap.add_argument("-k", metavar="SUBSTRING", help="run only tests whose name contains SUBSTRING")
    ap.add_argument("-t", type=float, default=None, metavar="SECONDS",
                    help=f"per-test timeout (default {DEFAULT_TIMEOUT}s, or the test's own)")
    args = ap.parse_args()
    tally = Tally()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        run_unit_tests(tally, args.k)
        run_layer_check(tally, args.k)
        if not os.access(harness.FORKTRACE, os.X_OK):
            tally.line("FAIL", "forktrace", f"{harness.FORKTRACE} is missing (run make)")
        elif os.geteuid() != 0:
            tally.line("FAIL", "e2e", "the scenarios need root: sudo python3 tests/run.py")
        else:
            for name, func, error in discover(args.k):
                if func is None:
                    tally.line("FAIL", name, error)
                    continue
                run_scenario(tally, name, func, args.t or getattr(func, "timeout", DEFAULT_TIMEOUT))
    except KeyboardInterrupt:
        sweep()
        print("interrupted", flush=True)
        print(tally.summary(), flush=True)
        return 130
    print(tally.summary(), flush=True)
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
