#!/usr/bin/python3
"""forktrace benchmarks (`make bench`; python3 stdlib only; run as root).

    bench/run.py [--reps N] [--only NAME[,NAME...]] [--keep] [FORKTRACE]

Every number is a RATIO against a baseline measured side by side in the same run:
baseline and traced repetitions are interleaved (the order alternates from one
repetition to the next), and each side's median is reported. No absolute time is
asserted: the build hosts have 2 cores and are shared and noisy. Each benchmark
program (bench/progs/*.c, compiled here into build/bench/) times itself and appends
`key=value` lines to a report file; it never writes to stdout, which it shares with
forktrace when it runs as `forktrace -- COMMAND`.

Benchmarks (see bench/README.md for how to read the table):
  forkstorm     20,000 fork+_exit+wait, single-threaded parent; traced with the
                default options (--json -o FILE); also lost events and fork count
  forkstorm4    the same from a parent with 4 idle threads; also lost events and fork count
  stacks        3,000 forks of a parent with 20 idle threads, --stacks=hazards vs off
                (both --locks=off, so that the lock scan's cost does not hide theirs):
                the program's us/fork, forktrace's CPU per fork, orphans with a stack,
                lost events, forktrace's peak RSS
  syscall       getppid() loop in a process forktrace does NOT trace, while
                forktrace -p traces another, sleeping process
  mutex         pthread_mutex lock/unlock pairs, uncontended and 2-thread contended,
                under --locks=scan, futex, off (nothing on the lock path)
  uprobe        the per-call cost of --locks=uprobe: uncontended lock+unlock and
                sem_trywait+sem_post pairs, untraced vs forktrace --locks=uprobe vs
                the peer, bpftrace with the same probes (bench/peer.bt)
  scan          a 2-thread parent with 1 GiB of touched heap forks; forktrace's
                "scan" event (time per GiB) and the child's memory with/without it
  scanread      the scan of a 1 GiB and a 4 GiB child against a plain one-thread pread
                pass over the same child's writable memory (bench/progs/plainread.c),
                right after it; the 4 GiB scan's scan_complete, forktrace's peak RSS
  latency       forktrace -a: the latency of a tiny forker's events (line arrival minus
                the event's kernel time) during the scans of a 1 GiB-child forker vs alone
  report        forktrace report over a 100,000-event recording, and its page drawn in
                headless Chromium (bench/report_bench.py)
  python        fork storms from a Python parent (bench/progs/py_forkstorm.py) with 20
                and 200 threads: untraced, --python=off, on (how many orphaned_threads
                events named every thread); and the time from forktrace -p's start to
                its attach line for a process with 200 named threads, off vs on

The final table is printed on stdout and also written to build/bench/results.md
(markdown) and build/bench/results.json. Exit status 0 whether targets were met
or not (a missed target, a forktrace failure, a program that does not compile: all
show in the table); 2 for bad arguments.
"""
import argparse
import calendar
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_bench  # noqa: E402
from procs import kill_group  # noqa: E402
from stats import fmt_num, interleave, median, ratio_noise, render, spread  # noqa: E402

COLS = ["benchmark", "baseline", "traced", "ratio", "target", "notes"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "bench", "progs")
POLL = 0.01

FORKS = 20000                  # forks per fork storm
SYSCALLS = 5_000_000           # getppid() calls per syscall-loop run
MUTEX_SECONDS = 0.5            # per phase (uncontended, contended) of a mutex run
SCAN_MIB = 1024                # touched heap of the scan benchmark's parent
DIRTY_SLACK_MIB = 8            # "unchanged within a few MiB"

T_FORKSTORM = 1.20
T_FORKSTORM4 = 1.05            # the 4-thread parent's storm: its scans must not slow it
T_SYSCALL = 1.05
T_MUTEX = 1.05
T_SCAN_S_PER_GIB = 0.40


# ------------------------------------------------------------------ processes

class RunFailed(Exception):
    pass


# After forktrace hung once (did not exit, or never attached) in a benchmark, its
# remaining traced runs are skipped: a hang costs a timeout each time, and the suite
# must stay within a few minutes.
HUNG = {}
CURRENT = ""
LAST_HWM_KIB = 0      # the peak RSS (VmHWM) wait_rusage last saw of the process it waits for


def hung(what):
    HUNG[CURRENT] = what
    return RunFailed(what)


def check_not_hung():
    if CURRENT in HUNG:
        raise RunFailed(f"not run: forktrace hung earlier in this benchmark ({HUNG[CURRENT]})")


class Procs:
    """Every process the suite starts is in its own session; kill_all() kills the
    groups (and any recorded program pid that left its group)."""

    def __init__(self):
        self.popens = []
        self.pids = []          # pids reported by benchmark programs (and their children)

    def popen(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        try:
            p = subprocess.Popen(argv, start_new_session=True, **kw)
        except OSError as e:
            raise RunFailed(f"cannot run {argv[0]}: {e.strerror}")
        self.popens.append(p)
        return p

    def note_pid(self, pid):
        self.pids.append(pid)

    def kill_all(self):
        for p in self.popens:
            if p.returncode is None:
                kill_group(p)
        for pid in self.pids:
            # only a process still running one of our benchmark programs
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if BIN.encode() in cmd:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.popens, self.pids = [], []


PROCS = Procs()
BIN = ""            # build/bench, set in main()
WORK = ""           # temporary directory of this run


def compile_prog(name):
    src = os.path.join(SRC, name + ".c")
    out = os.path.join(BIN, name)
    deps = [src, os.path.join(SRC, "bench.h")]
    newest = max(os.path.getmtime(d) for d in deps if os.path.exists(d))
    if os.path.exists(out) and os.path.getmtime(out) >= newest:
        return out
    tmp = f"{out}.tmp{os.getpid()}"
    cmd = ["cc", "-O2", "-pthread", "-Wall", "-o", tmp, src]
    c = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    if c.returncode != 0:
        raise RunFailed(f"cannot compile {src}: {first_line(c.stderr)}")
    os.replace(tmp, out)
    return out


_seq = 0


def new_path(prefix):
    global _seq
    _seq += 1
    os.makedirs(WORK, mode=0o755, exist_ok=True)    # in case a /tmp cleaner removed it
    return os.path.join(WORK, f"{_seq:03d}-{prefix}")


def new_report(prefix):
    path = new_path(prefix + ".report")
    with open(path, "w"):
        pass
    os.chmod(path, 0o666)       # the COMMAND may run as another user (sudo)
    return path


def read_report(path):
    vals = {}
    try:
        with open(path) as f:
            lines = f.read().split("\n")[:-1]
    except OSError:
        return vals
    for line in lines:
        if "=" in line:
            k, v = line.split("=", 1)
            vals[k] = v
    return vals


def read_text(path, limit=1 << 16):
    try:
        with open(path, errors="replace") as f:
            return f.read(limit)
    except OSError:
        return ""


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def said(texts):
    """forktrace's stderr lines over several successful runs, numbers folded to N,
    counted: 'said "forktrace: pid N maps no ..." (3 of 7 runs)'."""
    counts = {}
    for t in texts:
        for line in sorted({re.sub(r"\b\d+\b", "N", x.strip()) for x in t.splitlines()
                            if x.strip()}):
            counts[line[:160]] = counts.get(line[:160], 0) + 1
    return [f'forktrace said "{k}" ({v} of {len(texts)} runs)'
            for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:3]]


def read_events(path):
    """forktrace's --json output: a list of events (a partial last line is skipped)."""
    events = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                try:
                    events.append(json.loads(line))
                except ValueError:
                    events.append({"event": "<unparsable>", "line": line[:200]})
    except OSError:
        pass
    return events


def wait_for(cond, timeout, alive=None):
    """Poll cond() until true (return its value), or None after timeout seconds
    or once the Popen `alive` has exited (after one last look)."""
    deadline = time.monotonic() + timeout
    while True:
        exited = alive is not None and alive.poll() is not None
        v = cond()
        if v:
            return v
        if exited or time.monotonic() > deadline:
            return None
        time.sleep(POLL)


def run_plain(argv, report, timeout):
    """Run a benchmark program untraced; return its report."""
    err = new_path("prog.stderr")
    with open(err, "w") as ef:
        p = PROCS.popen(argv, stderr=ef)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        raise RunFailed(f"{os.path.basename(argv[0])} did not finish within {timeout}s")
    finally:
        kill_group(p)
    if p.returncode != 0:
        raise RunFailed(f"{os.path.basename(argv[0])} exited {p.returncode}: "
                        f"{first_line(read_text(err))}")
    return read_report(report)


def forktrace_failure(rc, errfile):
    msg = first_line(read_text(errfile)) or "(no message on stderr)"
    return f"forktrace exited {rc}: {msg}"


def run_traced(ft_args, argv, report, out, timeout):
    """forktrace FT_ARGS -o OUT -- ARGV; return (report, wall seconds).
    With -- COMMAND forktrace exits with COMMAND's status (0 for our programs)."""
    check_not_hung()
    err = new_path("forktrace.stderr")
    t0 = time.monotonic()
    with open(err, "w") as ef:
        p = PROCS.popen([FT, *ft_args, "-o", out, "--", *argv], stderr=ef)
    try:
        cpu = wait_rusage(p, timeout)
        if cpu is None:
            rep = read_report(report)
            what = "finished" if "elapsed_ns" in rep or "con_ns" in rep else "did not finish"
            raise hung(f"forktrace did not exit within {timeout}s (the program {what}); "
                       "killed")
    finally:
        kill_group(p)
    wall = time.monotonic() - t0
    rep = read_report(report)
    if p.returncode != 0:
        raise RunFailed(forktrace_failure(p.returncode, err))
    rep["_cpu_s"] = cpu      # forktrace + the children it waited for (the COMMAND)
    rep["_stderr"] = read_text(err)
    rep["_wall_s"] = wall
    return rep, wall


def note_hwm(pid):
    """Remember pid's peak RSS so far (VmHWM), for the stacks benchmark."""
    global LAST_HWM_KIB
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    LAST_HWM_KIB = max(LAST_HWM_KIB, int(line.split()[1]))
    except (OSError, ValueError, IndexError):
        pass


def wait_rusage(p, timeout):
    """Wait for Popen p like p.wait(timeout), through wait4 to get its CPU time
    (user + system, its waited-for children included). None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        except ChildProcessError:
            p.wait()
            return 0.0
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return ru.ru_utime + ru.ru_stime
        note_hwm(p.pid)
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL)


def start_forktrace_p(pid, extra, out):
    """forktrace -p PID ... -o OUT in the background; wait for its attach line.
    Return the Popen and its stderr path; raise RunFailed if it does not attach."""
    check_not_hung()
    err = new_path("forktrace.stderr")
    with open(err, "w") as ef:
        p = PROCS.popen([FT, "-p", str(pid), *extra, "-o", out], stderr=ef)

    def attached():
        return any(e.get("event") == "attach" for e in read_events(out))
    if not wait_for(attached, 30, alive=p):
        rc = p.poll()
        kill_group(p)
        if rc is not None:
            raise RunFailed(forktrace_failure(rc, err))
        raise hung("forktrace -p: no attach line within 30 s")
    return p, err


def stop_forktrace(p, err):
    """SIGINT, then wait for exit; return a note on anything unexpected."""
    note = ""
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            note = "forktrace did not exit within 15 s of SIGINT (killed)"
            HUNG[CURRENT] = note
    if not note and p.returncode != 0:
        note = forktrace_failure(p.returncode, err)
    kill_group(p)
    return note


# ------------------------------------------------------------------ results

ROWS = []


def add_row(bench, baseline="-", traced="-", ratio="-", target="-", notes="", verdict=None):
    ROWS.append({"benchmark": bench, "baseline": baseline, "traced": traced, "ratio": ratio,
                 "target": target, "verdict": verdict, "notes": notes})


def ratio_row(bench, unit, base, traced, target, notes, failures):
    """A row comparing the medians of two sets of samples (smaller is better).
    base and traced map a repetition number to its sample; the per-repetition
    (paired) ratios are shown in the notes as a measure of the noise."""
    mb, mt = median(base), median(traced)
    notes = list(notes)
    if failures:
        uniq = sorted(set(failures))
        notes.append(f"{len(failures)} failed run(s): " + "; ".join(uniq[:3]))
    tgt = f"<= {target:.2f}x" if target else "none"
    if mb is None or mt is None or mb <= 0:
        add_row(bench, fmt_num(mb, unit), fmt_num(mt, unit), "-", tgt,
                "; ".join(notes) or "no measurement", verdict="n/a" if target else None)
        return None
    r = mt / mb
    u = ratio_noise(base, traced, r)
    verdict = None
    if target:
        if r <= target:
            verdict = "met"
        elif min(len(base), len(traced)) < 3:
            verdict = "MISSED, but too few reps to know the noise"
        elif r - 2 * u <= target:
            verdict = "inconclusive: within noise"
        else:
            verdict = "MISSED"
    paired = sorted(traced[k] / base[k] for k in base if k in traced and base[k] > 0)
    if len(paired) > 1:
        d = 0 if paired[0] >= 100 else 2
        notes.append(f"paired ratios {paired[0]:,.{d}f}-{paired[-1]:,.{d}f} "
                     f"(median {statistics.median(paired):,.{d}f})")
    for side, xs in (("baseline", base), ("traced", traced)):
        if len(xs) > 1:
            notes.append(f"{side} {spread(xs, unit)}")
    add_row(bench, fmt_num(mb, unit), fmt_num(mt, unit),
            fmt_ratio(r, u), tgt, "; ".join(notes), verdict)
    return r


def fmt_ratio(r, u):
    """1.03x ±0.04; a large ratio (a uprobe's cost) without the decimals: 431x ±12."""
    d = 0 if r >= 100 else 2
    return f"{r:,.{d}f}x" + (f" ±{u:,.{d}f}" if u else "")


def whole_note(base, traced, unit):
    """The figure over the whole loop, beside the per-chunk median that the row shows."""
    mb, mt = median(base), median(traced)
    if mb is None or mt is None or mb <= 0:
        return ""
    return f"whole-loop figure {fmt_num(mb, unit)} -> {fmt_num(mt, unit)}, {fmt_ratio(mt / mb, 0)}"


# ------------------------------------------------------------------ 1. fork storm

def bench_forkstorm(threads, reps):
    prog = compile_prog("forkstorm")
    name = f"fork+exit storm, {FORKS:,} forks, " + (
        "1-thread parent" if threads == 0 else f"parent with {threads} idle threads")
    base, traced, failures = {}, {}, []
    lost, forks_seen, walls, extra, ft_cpu, stderr = [], [], [], [], [], []
    for rep in range(reps):
        for side in interleave(rep, ["base", "traced"]):
            report = new_report("forkstorm")
            argv = [prog, report, str(FORKS), str(threads)]
            try:
                if side == "base":
                    r = run_plain(argv, report, timeout=120)
                    base[rep] = int(r["elapsed_ns"]) / int(r["forks"]) / 1000
                    continue
                out = new_path("forkstorm.json")
                r, wall = run_traced(["--json"], argv, report, out, timeout=90)
                if "elapsed_ns" not in r:
                    raise RunFailed("the program reported nothing")
                traced[rep] = int(r["elapsed_ns"]) / int(r["forks"]) / 1000
                stderr.append(r["_stderr"])
                walls.append(wall)
                if "cpu_ns" in r:
                    ft_cpu.append(r["_cpu_s"] - int(r["cpu_ns"]) / 1e9)
                evs = read_events(out)
                pid = int(r["pid"])
                lost.append(sum(int(e.get("count", 0)) for e in evs
                                if e.get("event") == "lost_events"))
                forks_seen.append(sum(1 for e in evs
                                      if e.get("event") == "fork" and e.get("pid") == pid))
                extra.append({
                    "orphaned_threads": sum(1 for e in evs if e.get("event") == "orphaned_threads"),
                    "scan": [e for e in evs if e.get("event") == "scan"],
                    "exit": sum(1 for e in evs if e.get("event") == "exit"),
                    "unparsable": sum(1 for e in evs if e.get("event") == "<unparsable>"),
                })
            except (RunFailed, KeyError, ValueError) as e:
                failures.append(str(e) if isinstance(e, RunFailed) else f"bad report: {e!r}")
            finally:
                PROCS.kill_all()

    notes = []
    if walls:
        notes.append(f"forktrace wall {median(walls):.1f} s median (program + start + drain)" +
                     (f", forktrace's own CPU {median(ft_cpu):.2f} s" if ft_cpu else ""))
    if extra:
        def rng(xs):
            return f"{min(xs):,}" if min(xs) == max(xs) else f"{min(xs):,}-{max(xs):,}"
        if threads:
            nscan = [len(x["scan"]) for x in extra]
            scan_ns = [int(e.get("ns", 0)) for x in extra for e in x["scan"]]
            incomplete = sum(1 for x in extra for e in x["scan"]
                             if not e.get("scan_complete", True))
            notes.append(f"per traced run: {rng([x['orphaned_threads'] for x in extra])} "
                         f"orphaned_threads, {rng(nscan)} scan events" +
                         (f" (median {statistics.median(scan_ns) / 1000:.0f} us each, "
                          f"{incomplete} incomplete)" if scan_ns else ""))
        unparsable = sum(x["unparsable"] for x in extra)
        if unparsable:
            notes.append(f"{unparsable} unparsable JSON lines")
    notes += said(stderr)
    ratio_row(name + " (us/fork)", "us", base, traced, T_FORKSTORM if threads == 0 else T_FORKSTORM4,
              notes, failures)

    # the same rows for both parents: no event may be lost in either
    if lost:
        worst = max(lost)
        add_row("  lost events (sum of lost_events counts)", "-",
                ", ".join(str(v) for v in lost), "-", "0",
                "per traced run", verdict="met" if worst == 0 else "MISSED")
        ok = all(f == FORKS for f in forks_seen)
        add_row("  fork events of the parent", f"{FORKS:,} made",
                ", ".join(f"{v:,}" for v in forks_seen), "-", f"{FORKS:,}",
                "per traced run", verdict="met" if ok else "MISSED")
    else:
        add_row("  lost events / fork events", "-", "-", "-", "0 / 20,000",
                "no traced run completed", verdict="n/a")


# ------------------------------------------------------------------ 1b. native stacks

STACK_FORKS = 3000             # forks per stacks storm: each unwinds every orphan
STACK_THREADS = 20
T_STACKS = 1.10


def bench_stacks(reps):
    """A 20-thread parent's fork storm, --stacks=hazards (the default) against
    --stacks=off: the program's fork rate (the BPF copy of registers is on its
    fork path), forktrace's own CPU per fork (unwinding and symbolizing every
    orphan), how many orphans got a stack, lost events, forktrace's peak RSS."""
    global LAST_HWM_KIB
    prog = compile_prog("forkstorm")
    name = (f"stacks: {STACK_FORKS:,} forks of a {STACK_THREADS}-thread parent, hazards vs off"
            " (--locks=off)")
    us, cpu, rss, failures = {"off": {}, "hazards": {}}, {"off": [], "hazards": []}, \
        {"off": [], "hazards": []}, []
    lost, with_stack, orphans = [], 0, 0
    for rep in range(reps):
        for side in interleave(rep, ["off", "hazards"]):
            report = new_report("stackstorm")
            argv = [prog, report, str(STACK_FORKS), str(STACK_THREADS)]
            out = new_path("stackstorm.json")
            LAST_HWM_KIB = 0
            try:
                # --locks=off on both sides: the fork-time lock scan would drown the
                # stacks' own cost in its noise
                r, _ = run_traced(["--json", "--locks=off", f"--stacks={side}"], argv, report,
                                  out, timeout=180)
                forks = int(r["forks"])
                us[side][rep] = int(r["elapsed_ns"]) / forks / 1000
                cpu[side].append((r["_cpu_s"] - int(r["cpu_ns"]) / 1e9) / forks * 1e6)
                rss[side].append(LAST_HWM_KIB)
                if side == "hazards":
                    evs = read_events(out)
                    lost.append(sum(int(e.get("count", 0)) for e in evs
                                    if e.get("event") == "lost_events"))
                    for e in evs:
                        if e.get("event") == "orphaned_threads":
                            orphans += len(e["threads"])
                            with_stack += sum(1 for t in e["threads"] if t.get("stack"))
            except (RunFailed, KeyError, ValueError) as e:
                failures.append(str(e) if isinstance(e, RunFailed) else f"bad report: {e!r}")
            finally:
                PROCS.kill_all()
    ratio_row(name + " (us/fork of the program)", "us", us["off"], us["hazards"], T_STACKS,
              [], failures)
    if cpu["off"] and cpu["hazards"]:
        add_row("  forktrace CPU per fork (us): unwind + symbolize "
                f"{STACK_THREADS} orphans", f"{median(cpu['off']):,.0f}",
                f"{median(cpu['hazards']):,.0f}", "-", "none",
                f"{median(cpu['hazards']) - median(cpu['off']):,.0f} us/fork more with stacks, "
                f"{(median(cpu['hazards']) - median(cpu['off'])) / STACK_THREADS:,.1f} us "
                "per orphan")
    if rss["hazards"]:
        add_row("  forktrace peak RSS (MiB)", f"{median(rss['off']) / 1024:,.1f}",
                f"{median(rss['hazards']) / 1024:,.1f}", "-", "bounded",
                "VmHWM of forktrace; its caches are bounded: 16,384 symbolized addresses, "
                "256 modules, 8 address spaces, 512 last stacks")
    if lost:
        add_row("  lost events / orphans with a stack", "-",
                f"{', '.join(str(v) for v in lost)} / {with_stack:,} of {orphans:,}", "-",
                "counted", "a fork whose records were dropped is counted in lost_events")


# ------------------------------------------------------------------ 2. untraced syscalls

def bench_syscall(reps):
    prog = compile_prog("syscall_loop")
    base, traced, failures, notes = {}, {}, [], []
    whole = {"base": {}, "traced": {}}
    stderr = []
    sleeper = None
    try:
        sleeper = PROCS.popen(["sleep", "3600"])
        for rep in range(reps):
            for side in interleave(rep, ["base", "traced"]):
                report = new_report("syscall")
                argv = [prog, report, str(SYSCALLS), "50"]
                ft = None
                try:
                    if side == "traced":
                        ft, err = start_forktrace_p(sleeper.pid, ["--json"],
                                                    new_path("syscall.json"))
                    r = run_plain(argv, report, timeout=60)
                    ns = float(r["chunk_med_ns"])
                    w = int(r["elapsed_ns"]) / int(r["calls"])
                    if ft is not None:
                        note = stop_forktrace(ft, err)
                        ft = None
                        stderr.append(read_text(err))
                        if note:
                            failures.append(note)
                            continue
                        traced[rep] = ns
                        whole["traced"][rep] = w
                    else:
                        base[rep] = ns
                        whole["base"][rep] = w
                except (RunFailed, KeyError, ValueError) as e:
                    failures.append(str(e) if isinstance(e, RunFailed) else f"bad report: {e!r}")
                finally:
                    if ft is not None:
                        stop_forktrace(ft, err)
    finally:
        PROCS.kill_all()
    notes.append("the loop is not traced; forktrace -p traces a sleeping process")
    notes = [x for x in notes + [whole_note(whole["base"], whole["traced"], "ns")] if x]
    notes += said(stderr)
    ratio_row(f"getppid() loop in an untraced process, {SYSCALLS // 1000000}M calls (ns/call, chunk median)",
              "ns", base, traced, T_SYSCALL, notes, failures)


# ------------------------------------------------------------------ 3. lock-heavy

MUTEX_MODES = ["scan", "futex", "off"]     # uprobe: its own benchmark below


def mode_unavailable(failure, mode):
    """Does this forktrace failure say that lock mode `mode` does not exist (yet)?
    A usage error (2), or a failure (1) whose message says so."""
    msg = failure.lower()
    if "exited 2:" in msg:
        return True
    words = ("unavailable", "not available", "not supported", "unsupported",
             "not implemented", "not yet")
    return "exited 1:" in msg and (mode in msg or "lock mode" in msg) and \
        any(w in msg for w in words)


def bench_mutex(reps):
    prog = compile_prog("mutex_loop")
    sides = ["base"] + MUTEX_MODES
    unc = {s: {} for s in sides}
    con = {s: {} for s in sides}
    unc_whole = {s: {} for s in sides}
    con_whole = {s: {} for s in sides}
    share, unpinned = [], 0
    failures = {s: [] for s in sides}
    unavailable = {}
    attach_locks = {}
    stderr = {s: [] for s in sides}
    for rep in range(reps):
        for side in interleave(rep, sides):
            if side in unavailable:
                continue
            report = new_report("mutex")
            argv = [prog, report, str(MUTEX_SECONDS)]
            try:
                if side == "base":
                    r = run_plain(argv, report, timeout=60)
                else:
                    out = new_path(f"mutex-{side}.json")
                    try:
                        r, _ = run_traced(["--json", f"--locks={side}"], argv, report, out,
                                          timeout=60)
                    except RunFailed as e:
                        # a mode that does not exist (yet): usage error 2 or failure 1
                        if mode_unavailable(str(e), side) and "unc_ns" not in read_report(report):
                            unavailable[side] = str(e)
                            continue
                        raise
                    stderr[side].append(r["_stderr"])
                    for e in read_events(out):
                        if e.get("event") == "attach":
                            attach_locks[side] = e.get("locks")
                            break
                unc[side][rep] = float(r["unc_med_ns"])
                con[side][rep] = float(r["con_med_ns"])
                unc_whole[side][rep] = int(r["unc_ns"]) / int(r["unc_pairs"])
                con_whole[side][rep] = int(r["con_ns"]) / int(r["con_pairs"])
                kept, _, total = r.get("con_windows", "0/0").partition("/")
                if int(total or 0) > 0:
                    share.append(int(kept) / int(total))
                unpinned += r.get("con_pinned") != "1"
            except (RunFailed, KeyError, ValueError) as e:
                failures[side].append(str(e) if isinstance(e, RunFailed)
                                      else f"bad report: {e!r}")
            finally:
                PROCS.kill_all()

    for label, data, whole in (("uncontended, 1 thread", unc, unc_whole),
                               ("contended, 2 threads", con, con_whole)):
        for mode in MUTEX_MODES:
            name = f"mutex lock+unlock {label}, --locks={mode} (ns/pair, window median)"
            target = T_MUTEX if mode in ("scan", "futex") else None
            if mode in unavailable:
                add_row(name, fmt_num(median(data["base"]), "ns"), "not available", "-",
                        f"<= {target:.2f}x" if target else "none",
                        unavailable[mode], verdict="n/a" if target else None)
                continue
            notes = [x for x in (whole_note(whole["base"], whole[mode], "ns"),) if x]
            if data is con and share:
                notes.append(f"windows where both threads progressed: median "
                             f"{100 * statistics.median(share):.0f}% of all runs' windows")
                if unpinned:
                    notes.append(f"{unpinned} run(s) could not pin the threads to 2 CPUs")
            if mode in attach_locks and attach_locks[mode] != mode:
                notes.append(f"attach event says locks={attach_locks[mode]!r}")
            notes += said(stderr[mode])
            ratio_row(name, "ns", data["base"], data[mode], target, notes,
                      failures[mode] + failures["base"])


# ------------------------------------------------------------------ 4. uprobe cost

UPROBE_SECONDS = 0.3           # per phase (mutex, sem) of a lockpair_loop run
PEER = "bpftrace"
PEER_SCRIPT = os.path.join(ROOT, "bench", "peer.bt")
BT_READY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"   # bpftrace prints it once all probes are on
NOCOST = 20         # a traced run under 20x the baseline had no probe on its lock calls
                    # (HOST-FACTS: a uprobe hit is 0.9-10 us; the untraced pair ~6 ns)
# (report key, row label, the probes hit by one pair: bench/peer.bt's counters)
LOCK_PAIRS = [
    ("mutex", "uprobe cost: mutex lock+unlock", ["mutex_lock", "mutex_lock_ret", "mutex_unlock"]),
    ("sem", "uprobe cost: sem_trywait+sem_post (CPython's Lock)",
     ["sem_trywait", "sem_trywait_ret", "sem_post"]),
]


def bpftrace_error(errfile, outfile):
    """bpftrace's first error line (not its harmless RLIMIT_MEMLOCK complaint); some
    go to stdout ("No probes to attach")."""
    lines = [x.strip() for x in (read_text(errfile) + "\n" + read_text(outfile)).splitlines()
             if x.strip()]
    lines = [x for x in lines if "RLIMIT_MEMLOCK" not in x and x != BT_READY]
    errs = [x for x in lines if x.startswith("ERROR")] or lines
    return errs[0][:200] if errs else "(no message on stderr)"


def run_bpftrace(bt, prog, report):
    """lockpair_loop REPORT SECONDS GATE, then `bpftrace -p PID bench/peer.bt PID`; the
    gate opens once bpftrace says that all its probes are attached. bpftrace -p exits
    by itself when PID does, and prints its counters. Return (report, counters)."""
    gate = new_path("uprobe.gate")
    perr = new_path("prog.stderr")
    with open(perr, "w") as ef:
        p = PROCS.popen([prog, report, str(UPROBE_SECONDS), gate], stderr=ef)
    pid = wait_for(lambda: read_report(report).get("pid"), 30, alive=p)
    if not pid:
        raise RunFailed(f"lockpair_loop did not start (exit status {p.poll()}): "
                        f"{first_line(read_text(perr))}")
    PROCS.note_pid(int(pid))
    out, err = new_path("bpftrace.stdout"), new_path("bpftrace.stderr")
    env = dict(os.environ, **{BT_READY: "1"})
    with open(out, "w") as of, open(err, "w") as ef:
        b = PROCS.popen([bt, "-p", pid, PEER_SCRIPT, pid], stdout=of, stderr=ef, env=env)
    if not wait_for(lambda: BT_READY in read_text(err) + read_text(out), 30, alive=b):
        rc = b.poll()
        if rc is None:
            raise RunFailed(f"{PEER} did not attach within 30 s (killed)")
        raise RunFailed(f"{PEER} exited {rc} before attaching: {bpftrace_error(err, out)}")
    with open(gate, "w"):
        pass
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"lockpair_loop did not finish within 60 s under {PEER}")
    if p.returncode != 0:
        raise RunFailed(f"lockpair_loop exited {p.returncode}: {first_line(read_text(perr))}")
    try:
        b.wait(timeout=15)
    except subprocess.TimeoutExpired:
        b.send_signal(signal.SIGINT)
        try:
            b.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    counts = {m.group(1): int(m.group(2))
              for m in re.finditer(r"^@(\w+): (\d+)$", read_text(out), re.M)}
    return read_report(report), counts


def peer_version(bt):
    try:
        c = subprocess.run([bt, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=10)
        return first_line(c.stdout).replace("bpftrace ", "") or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def bench_uprobe(reps):
    prog = compile_prog("lockpair_loop")
    bt = shutil.which(PEER)
    peer_off = None if bt else (f"{PEER} is not installed (Debian 12: apt-get install bpftrace; "
                                "the lead adds it to the Makefile's BENCH_DEPS)")
    peer_name = f"{PEER} {peer_version(bt)}" if bt else PEER
    sides = ["base", "forktrace", "peer"]
    med = {s: {k: {} for k, _, _ in LOCK_PAIRS} for s in sides}      # window medians
    whole = {s: {k: {} for k, _, _ in LOCK_PAIRS} for s in sides}    # whole-phase ns/pair
    failures = {s: [] for s in sides}
    ft_stderr, ft_attach, ft_bad = [], [], []
    unseen = {k: [] for k, _, _ in LOCK_PAIRS}     # peer runs whose counters missed calls
    peer_fail = 0
    for rep in range(reps):
        for side in interleave(rep, sides):
            if side == "peer" and peer_off:
                continue
            report = new_report("lockpair")
            argv = [prog, report, str(UPROBE_SECONDS)]
            try:
                counts = None
                if side == "base":
                    r = run_plain(argv, report, timeout=60)
                elif side == "forktrace":
                    out = new_path("uprobe.json")
                    r, _ = run_traced(["--json", "--locks=uprobe"], argv, report, out,
                                      timeout=60)
                    ft_stderr.append(r["_stderr"])
                    evs = read_events(out)
                    ft_attach.append(next((e.get("locks") for e in evs
                                           if e.get("event") == "attach"), None))
                    ft_bad += [e.get("event") for e in evs
                               if e.get("severity") in ("warning", "error")]
                else:
                    r, counts = run_bpftrace(bt, prog, report)
                if r.get("sem_fail", "0") != "0":
                    raise RunFailed(f"{r['sem_fail']} sem_trywait calls failed")
                for key, _, probes in LOCK_PAIRS:
                    med[side][key][rep] = float(r[f"{key}_med_ns"])
                    whole[side][key][rep] = int(r[f"{key}_ns"]) / int(r[f"{key}_pairs"])
                    if counts is not None:
                        calls = int(r[f"{key}_pairs"]) + int(r[f"{key}_warm_pairs"])
                        seen = min(counts.get(c, 0) for c in probes)
                        if seen < calls:
                            unseen[key].append(f"{seen:,} of {calls:,}")
            except (RunFailed, KeyError, ValueError) as e:
                msg = str(e) if isinstance(e, RunFailed) else f"bad report: {e!r}"
                failures[side].append(msg)
                if side == "peer":
                    peer_fail += 1
                    if peer_fail >= 2 and not med["peer"]["mutex"]:
                        peer_off = f"{PEER} failed in every run: {msg}"   # do not retry
            finally:
                PROCS.kill_all()

    for key, label, probes in LOCK_PAIRS:
        ft_m = None
        for side, who in (("forktrace", "forktrace --locks=uprobe"),
                          ("peer", f"peer: {peer_name}, same probes (bench/peer.bt)")):
            name = (f"{label}, 1 thread, {who} (ns/pair, window median)"
                    if side == "forktrace" else f"  {who}")
            base, data = med["base"][key], med[side][key]
            mb = median(base)
            if side == "peer" and peer_off and not data:
                add_row(name, fmt_num(mb, "ns"), "not available", "-", "none", peer_off)
                continue
            notes = []
            nocost = {r: v for r, v in data.items() if mb and v < NOCOST * mb}
            cost = {r: v for r, v in data.items() if r not in nocost}
            if nocost:
                notes.append(f"FAILURE: {len(nocost)} of {len(data)} traced runs showed no "
                             f"per-call cost ({', '.join(fmt_num(v, 'ns') for v in nocost.values())}"
                             f"/pair, under {NOCOST}x the baseline): its probes were not on the "
                             "lock calls; those runs are left out of the ratio")
            mt = median(cost)
            if mt is not None and mb:
                notes.append(f"~{(mt - mb) / len(probes):,.0f} ns per probe hit on average "
                             f"({len(probes)} per pair: {', '.join(probes)})")
            if side == "forktrace":
                ft_m = mt
                quiet = sum(1 for t in ft_stderr if not t.strip())
                if ft_stderr:
                    notes.append(f"forktrace printed nothing on stderr in {quiet} of "
                                 f"{len(ft_stderr)} runs, and its attach event said "
                                 f"locks=uprobe in {ft_attach.count('uprobe')}")
                    notes += said(ft_stderr)
                    if any(a != "uprobe" for a in ft_attach):
                        notes.append(f"attach events say locks={sorted(set(map(str, ft_attach)))}")
                    if ft_bad:
                        notes.append(f"warning/error events in FILE: {sorted(set(ft_bad))}")
            else:
                if ft_m and mt:
                    notes.insert(0, f"forktrace / {PEER} = {ft_m / mt:.2f}x "
                                    f"({fmt_num(ft_m, 'ns')} vs {fmt_num(mt, 'ns')} per pair)")
                if data:
                    notes.append(f"{PEER}'s counters saw every call in "
                                 f"{len(data) - len(unseen[key])} of {len(data)} runs" +
                                 (f" (missed: {'; '.join(unseen[key][:3])} calls seen)"
                                  if unseen[key] else ""))
            wn = whole_note(whole["base"][key], {r: whole[side][key][r] for r in cost}, "ns")
            if wn:
                notes.append(wn)
            fails = failures[side] + failures["base"]
            if data and not cost:
                uniq = sorted(set(fails))
                add_row(name, fmt_num(mb, "ns"), "no per-call cost", "-", "-",
                        "; ".join(notes + ([f"{len(fails)} failed run(s): " + "; ".join(uniq[:3])]
                                           if fails else [])), verdict="FAILED")
                continue
            ratio_row(name, "ns", base, cost, None, notes, fails)

# ------------------------------------------------------------------ 5. scan cost

def smaps_rollup(pid):
    """Rss, Private_Dirty, Shared_Dirty of /proc/PID/smaps_rollup, in KiB."""
    vals = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0].rstrip(":") in (
                        "Rss", "Private_Dirty", "Shared_Dirty"):
                    vals[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return None
    return vals if len(vals) == 3 else None


def bench_scan(reps):
    prog = compile_prog("scanfork")
    dirty = {"base": [], "traced": []}      # child Private_Dirty (MiB) late in its wait
    dirty0 = {"base": [], "traced": []}     # right after the fork was reported
    rss, shared = {"base": [], "traced": []}, {"base": [], "traced": []}
    per_gib, scan_bytes, scan_ms, incomplete, locks_found = [], [], [], 0, []
    failures, notes = [], []
    missing_scan = 0
    late_scan = 0
    stderr = []
    settle = 1.0        # untraced: how long to wait before the second look
    for rep in range(reps):
        for side in interleave(rep, ["base", "traced"]):
            report = new_report("scan")
            release = new_path("scan.release")
            argv = [prog, report, str(SCAN_MIB), release]
            out = new_path("scan.json")
            err = new_path("scan.stderr")
            p = None
            try:
                with open(err, "w") as ef:
                    if side == "base":
                        p = PROCS.popen(argv, stderr=ef)
                    else:
                        check_not_hung()
                        p = PROCS.popen([FT, "--json", "-o", out, "--", *argv], stderr=ef)
                child = wait_for(lambda: read_report(report).get("child"), 60, alive=p)
                if not child:
                    rc = p.poll()
                    if rc is not None and side == "traced":
                        raise RunFailed(forktrace_failure(rc, err))
                    if rc is None and side == "traced":
                        raise hung("no fork reported within 60 s under forktrace")
                    raise RunFailed(f"no fork reported within 60 s (exit status {rc})")
                child = int(child)
                PROCS.note_pid(child)
                PROCS.note_pid(int(read_report(report).get("pid", 0)) or child)
                first = smaps_rollup(child)
                scan_ev = None
                if side == "traced":
                    def find_scan():
                        for e in read_events(out):
                            if e.get("event") == "scan" and e.get("child_pid") == child:
                                return e
                        return None
                    scan_ev = wait_for(find_scan, 20, alive=p)
                else:
                    time.sleep(settle)
                second = smaps_rollup(child)
                with open(release, "w"):
                    pass
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    if side == "traced":
                        raise hung("forktrace did not exit within 60 s of its COMMAND's release")
                    raise RunFailed("the program did not exit within 60 s of its release")
                if p.returncode != 0:
                    if side == "traced":
                        raise RunFailed(forktrace_failure(p.returncode, err))
                    raise RunFailed(f"scanfork exited {p.returncode}: {first_line(read_text(err))}")
                if side == "traced":
                    stderr.append(read_text(err))
                if side == "traced" and scan_ev is None:
                    for e in read_events(out):
                        if e.get("event") == "scan" and e.get("child_pid") == child:
                            scan_ev = e
                    if scan_ev is None:
                        missing_scan += 1
                    else:
                        late_scan += 1
                if side == "traced" and scan_ev is not None:
                    b, ns = int(scan_ev.get("bytes", 0)), int(scan_ev.get("ns", 0))
                    scan_bytes.append(b)
                    scan_ms.append(ns / 1e6)
                    locks_found.append(scan_ev.get("locks_found"))
                    if not scan_ev.get("scan_complete", False):
                        incomplete += 1
                    if b > 0:
                        per_gib.append(ns / 1e9 / (b / (1 << 30)))
                    settle = max(settle, min(5.0, ns / 1e9 + 0.5))
                if first is None or second is None:
                    raise RunFailed("could not read the child's smaps_rollup")
                dirty0[side].append(first["Private_Dirty"] / 1024)
                dirty[side].append(second["Private_Dirty"] / 1024)
                rss[side].append(second["Rss"] / 1024)
                shared[side].append(second["Shared_Dirty"] / 1024)
            except (RunFailed, ValueError) as e:
                failures.append(str(e))
            finally:
                if p is not None:
                    kill_group(p)
                PROCS.kill_all()

    name = f"scan of a forked child, {SCAN_MIB} MiB touched heap, 2-thread parent"
    fnotes = []
    if failures:
        fnotes.append(f"{len(failures)} failed run(s): " + "; ".join(sorted(set(failures))[:3]))
    if per_gib:
        m = median(per_gib)
        fnotes.insert(0, f"scan reads {median(scan_bytes) / (1 << 20):,.0f} MiB in "
                         f"{median(scan_ms):,.0f} ms (median of {len(per_gib)}); "
                         f"locks_found {locks_found}; "
                         f"{incomplete} with scan_complete=false")
        if late_scan:
            fnotes.append(f"{late_scan} scan event(s) appeared only after the child exited")
        if missing_scan:
            fnotes.append(f"{missing_scan} traced run(s) without a scan event for the child")
        fnotes += said(stderr)
        add_row(name + " (s per GiB read)", "-", f"{m:.3f} s/GiB", "-",
                f"<= {T_SCAN_S_PER_GIB:.2f} s/GiB", "; ".join(fnotes),
                verdict="met" if m <= T_SCAN_S_PER_GIB else "MISSED")
    else:
        what = "no scan event" if missing_scan else "no traced run completed"
        fnotes += said(stderr)
        add_row(name + " (s per GiB read)", "-", what, "-",
                f"<= {T_SCAN_S_PER_GIB:.2f} s/GiB",
                "; ".join([f"{missing_scan} traced run(s) without a scan event for the child"]
                          + fnotes if missing_scan else fnotes),
                verdict="n/a")

    mb, mt = median(dirty["base"]), median(dirty["traced"])
    n = ["child's smaps_rollup once the scan event was seen, or 20 s without one "
         "(untraced: after as long as a scan takes + 0.5 s)"]
    if dirty0["traced"]:
        n.append(f"right after the fork: Private_Dirty untraced {median(dirty0['base']) or 0:.1f}"
                 f" / traced {median(dirty0['traced']):.1f} MiB")
    if rss["base"] and rss["traced"]:
        n.append(f"Rss {median(rss['base']):,.0f} / {median(rss['traced']):,.0f} MiB, "
                 f"Shared_Dirty {median(shared['base']):,.0f} / {median(shared['traced']):,.0f} MiB")
    if mb is None or mt is None:
        add_row("  child Private_Dirty (MiB)", fmt_num(mb, "MiB"), fmt_num(mt, "MiB"), "-",
                f"+<= {DIRTY_SLACK_MIB} MiB", "; ".join(n + ["no complete pair of runs"]),
                verdict="n/a")
    else:
        d = mt - mb
        add_row("  child Private_Dirty (MiB)", f"{mb:.1f} MiB", f"{mt:.1f} MiB", f"{d:+.1f} MiB",
                f"+<= {DIRTY_SLACK_MIB} MiB", "; ".join(n),
                verdict="met" if d <= DIRTY_SLACK_MIB else "MISSED")


# ------------------------------------------------------------------ 5b. scan vs a plain read

SCANREAD_MIB = tuple(int(x) for x in os.environ.get("SCANREAD_MIB", "1024,4096").split(","))    # the child's touched heap, MiB
T_SCAN_VS_READ = 0.50          # the scan's s/GiB against one thread's plain pread pass
T_SCAN_RSS_MB = 30             # forktrace's peak RSS while it scans a 4 GiB child


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def bpf_map_rss_kib(pid):
    """The Rss of pid's BPF map mappings (the kernel's 16 MiB ring buffer, mapped twice):
    kernel memory, the same from start to end, not what forktrace allocates."""
    total, in_map = 0, False
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                head = line.split()
                if head and "-" in head[0] and len(head) >= 5:
                    in_map = line.rstrip().endswith("anon_inode:bpf-map")
                elif in_map and line.startswith("Rss:"):
                    total += int(head[1])
    except (OSError, ValueError, IndexError):
        return None
    return total


def scan_then_read(mib, ft_args=()):
    """scanfork MIB under forktrace; once forktrace printed the child's scan event (and
    its VmHWM was read), plainread reads the same child, which still waits. Return
    (scan event, plainread's report, forktrace's VmHWM in KiB at its attach line and once
    the scan event is out)."""
    prog, reader = compile_prog("scanfork"), compile_prog("plainread")
    report, release = new_report("scanread"), new_path("scanread.release")
    out, err = new_path("scanread.json"), new_path("scanread.stderr")
    check_not_hung()
    with open(err, "w") as ef:
        p = PROCS.popen([FT, "--json", *ft_args, "-o", out, "--", prog, report, str(mib),
                         release], stderr=ef)
    try:
        # the program touches its heap for seconds before it forks: forktrace's own
        # peak RSS before any scan, read once its attach line is out
        if wait_for(lambda: any(e.get("event") == "attach" for e in read_events(out)), 60, alive=p):
            hwm0 = vm_hwm_kib(p.pid)
        else:
            hwm0 = None
        child = wait_for(lambda: read_report(report).get("child"), 180, alive=p)
        if not child:
            if p.poll() is not None:
                raise RunFailed(forktrace_failure(p.returncode, err))
            raise hung("no fork reported within 180 s under forktrace")
        child = int(child)
        PROCS.note_pid(child)

        def scan_of():
            return next((e for e in read_events(out) if e.get("event") == "scan"
                         and e.get("child_pid") == child), None)
        ev = wait_for(scan_of, 60, alive=p)
        hwm, ring = vm_hwm_kib(p.pid), bpf_map_rss_kib(p.pid)
        if hwm is not None and ring is not None:
            hwm -= ring
            hwm0 = hwm0 - ring if hwm0 is not None else None
        if not ev:
            raise RunFailed("no scan event for the child within 60 s")
        preport = new_report("plainread")
        plain = run_plain([reader, preport, str(child)], preport, timeout=120)
        with open(release, "w"):
            pass
        if p.wait(timeout=60) != 0:
            raise RunFailed(forktrace_failure(p.returncode, err))
        return ev, plain, (hwm0, hwm)
    except subprocess.TimeoutExpired:
        raise hung("forktrace did not exit within 60 s of its COMMAND's release")
    finally:
        kill_group(p)
        PROCS.kill_all()


def bench_scanread(reps):
    """The fork-time scan of a child against the plain single-threaded read of the same
    child's writable private memory, right after it in the same run; and, for a 4 GiB
    child, whether the scan fits its 1 s bound and forktrace's peak RSS meanwhile."""
    for mib in SCANREAD_MIB:
        scan, plain, failures = {}, {}, []
        sbytes, pbytes, complete, hwm, hwm0 = [], [], [], [], []
        for rep in range(reps):
            try:
                # the default --scan-limit (4 GiB) would stop the 4 GiB child's scan
                # before its time bound: only the time bound is in question here
                ev, r, kib = scan_then_read(mib, ["--scan-limit=8GiB"] if mib >= 4096 else [])
                if int(ev.get("bytes", 0)) <= 0 or int(r["bytes"]) <= 0:
                    raise RunFailed(f"nothing read: scan {ev.get('bytes')} bytes "
                                    f"({ev.get('reason')}), plain read {r['bytes']} bytes")
                scan[rep] = int(ev["ns"]) / 1e6 / (int(ev["bytes"]) / (1 << 30))
                plain[rep] = int(r["ns"]) / 1e6 / (int(r["bytes"]) / (1 << 30))
                sbytes.append(int(ev["bytes"]))
                pbytes.append(int(r["bytes"]))
                complete.append("complete" if ev.get("scan_complete") else
                                f"incomplete ({ev.get('reason')})")
                if kib[1]:
                    hwm.append(kib[1])
                    hwm0.append(kib[0] or 0)
            except (RunFailed, KeyError, ValueError) as e:
                failures.append(str(e) if isinstance(e, RunFailed) else f"bad report: {e!r}")
        gib = f"{mib // 1024} GiB"
        notes = ["baseline: plainread, one thread, 4 MiB preads of /proc/CHILD/mem over the "
                 "writable private mappings, run on the same child once its scan event is out; "
                 "traced: forktrace's scan event (ns per byte read)"
                 + (", with --scan-limit=8GiB" if mib >= 4096 else "")]
        if sbytes:
            notes.append(f"read: scan {median(sbytes) / (1 << 20):,.0f} MiB, plain read "
                         f"{median(pbytes) / (1 << 20):,.0f} MiB (medians)")
            notes.append("scans: " + ", ".join(complete))
        ratio_row(f"scan vs plain read of a {gib} child (ms per GiB)", "ms", plain, scan,
                  T_SCAN_VS_READ, notes, failures)
        if mib >= 4096 and complete:
            done = sum(1 for c in complete if c == "complete")
            add_row(f"  {gib} child: scan complete within the 1 s bound", "-",
                    f"{done} of {len(complete)}", "-", "all",
                    ", ".join(complete), verdict="met" if done == len(complete) else "MISSED")
        if mib >= 4096 and hwm:
            mb = median(hwm) * 1024 / 1e6
            add_row(f"  forktrace peak RSS while scanning the {gib} child (MB)", "-",
                    f"{mb:,.1f} MB", "-", f"< {T_SCAN_RSS_MB} MB",
                    "VmHWM of forktrace's process once the child's scan event is out, less the "
                    "Rss of its BPF map mappings (the kernel's ring buffer, 32 MiB mapped from "
                    "the start; not forktrace's allocation) (per run "
                    + ", ".join(f"{k * 1024 / 1e6:,.1f}" for k in hwm)
                    + " MB); at its attach line, before any scan: "
                    + ", ".join(f"{k * 1024 / 1e6:,.1f}" for k in hwm0) + " MB"
                    + (f"; the scan added a median {(median(hwm) - median(hwm0)) * 1024 / 1e6:,.1f} MB"
                       if all(hwm0) else ""),
                    verdict="met" if mb < T_SCAN_RSS_MB else "MISSED")
        if mib >= 4096:
            # the default --stacks=hazards unwinds the child's orphaned thread at the fork
            # (libdw reads libc's DWARF): without it, what the scan itself holds
            own = []
            for _ in range(max(1, reps // 2)):
                try:
                    _, _, kib = scan_then_read(mib, ["--scan-limit=8GiB", "--stacks=off"])
                    if kib[1]:
                        own.append(kib)
                except RunFailed as e:
                    failures.append(str(e))
            if own:
                mb = median([k[1] for k in own]) * 1024 / 1e6
                add_row(f"  the same with --stacks=off: the scan's own memory (MB)", "-",
                        f"{mb:,.1f} MB", "-", f"< {T_SCAN_RSS_MB} MB",
                        "as above, without the orphan's native stack; at the attach line "
                        + ", ".join(f"{k[0] * 1024 / 1e6:,.1f}" for k in own if k[0]) + " MB",
                        verdict="met" if mb < T_SCAN_RSS_MB else "MISSED")


# ------------------------------------------------------------------ 5c. the loop's latency

LAT_BIG_MIB = 1024             # the big forker's touched heap
LAT_LIFE_MS = 700              # each of its children lives this long (it is scanned)
LAT_PACE_US = 1000             # between two tiny forks
LAT_SECONDS = 5.0              # the measured window
LAT_BIG_SCAN = 512 << 20       # a scan of the big forker's child that counts


class LineReader:
    """A thread reading forktrace's stdout (a pipe): each event with the CLOCK_REALTIME
    ns at which its line was read."""

    def __init__(self, p):
        self.p, self.lines, self.lock = p, [], threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        fd, buf = self.p.stdout.fileno(), b""
        while True:
            chunk = os.read(fd, 1 << 20)
            now = time.time_ns()
            if not chunk:
                return
            buf += chunk
            *done, buf = buf.split(b"\n")
            evs = []
            for line in done:
                try:
                    evs.append((now, json.loads(line)))
                except ValueError:
                    evs.append((now, {"event": "<unparsable>"}))
            with self.lock:
                self.lines += evs

    def events(self):
        with self.lock:
            return list(self.lines)


def event_ns(ev):
    """An event's "time" (RFC 3339 UTC with nanoseconds) as ns since the epoch."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})", str(ev.get("time")))
    if not m:
        return None
    secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return secs * 1_000_000_000 + int(m.group(2))


def latency_run(with_big):
    """forktrace -a --json on a pipe while tinyfork forks (and, with_big, bigfork forks
    its 1 GiB children): the tiny forker's fork and exit events' latencies (ms), those
    that fell inside a big scan, the big scans' ms, and the lost events."""
    tiny, big = compile_prog("tinyfork"), compile_prog("bigfork")
    stop = new_path("latency.stop")
    bigp = bigrep = None
    if with_big:
        bigrep = new_report("bigfork")
        with open(new_path("prog.stderr"), "w") as ef:
            bigp = PROCS.popen([big, bigrep, str(LAT_BIG_MIB), str(LAT_LIFE_MS), stop],
                               stderr=ef)
        if not wait_for(lambda: read_report(bigrep).get("ready"), 120, alive=bigp):
            raise RunFailed(f"bigfork did not get ready (exit status {bigp.poll()})")
    check_not_hung()
    err = new_path("forktrace.stderr")
    with open(err, "w") as ef:
        ft = PROCS.popen([FT, "-a", "--json"], stdout=subprocess.PIPE, stderr=ef)
    reader = LineReader(ft)
    try:
        if not wait_for(lambda: any(e.get("event") == "attach" for _, e in reader.events()),
                        30, alive=ft):
            if ft.poll() is not None:
                raise RunFailed(forktrace_failure(ft.returncode, err))
            raise hung("forktrace -a: no attach line within 30 s")
        trep = new_report("tinyfork")
        with open(new_path("prog.stderr"), "w") as ef:
            tinyp = PROCS.popen([tiny, trep, str(LAT_PACE_US), stop], stderr=ef)
        time.sleep(LAT_SECONDS)         # the window: a span of work, not a timed assertion
        with open(stop, "w"):
            pass
        for p in (tinyp, bigp):
            if p is not None and p.wait(timeout=30) != 0:
                raise RunFailed(f"a forker exited {p.returncode}")
        ft.send_signal(signal.SIGINT)
        if ft.wait(timeout=30) != 0:
            raise RunFailed(forktrace_failure(ft.returncode, err))
        reader.thread.join(10)
    except subprocess.TimeoutExpired:
        raise hung("a forker or forktrace -a did not exit within 30 s")
    finally:
        kill_group(ft)
        PROCS.kill_all()
    lines = reader.events()
    tpid = int(read_report(trep)["pid"])
    bpid = int(read_report(bigrep)["pid"]) if with_big else None
    kids = {e.get("child_pid") for _, e in lines if e.get("event") == "fork" and e.get("pid") == tpid}
    spans = [(t - int(e["ns"]), t) for t, e in lines if bpid and e.get("event") == "scan"
             and e.get("pid") == bpid and int(e.get("bytes", 0)) >= LAT_BIG_SCAN]
    lat, inside = [], []
    for t, e in lines:
        if (e.get("event") == "fork" and e.get("pid") == tpid) or \
                (e.get("event") == "exit" and e.get("pid") in kids):
            k = event_ns(e)
            if k is None:
                continue
            lat.append((t - k) / 1e6)
            if any(a <= k <= b for a, b in spans):
                inside.append((t - k) / 1e6)
    lost = sum(int(e.get("count", 0)) for _, e in lines if e.get("event") == "lost_events")
    return lat, inside, [(b - a) / 1e6 for a, b in spans], lost


def p90(xs):
    return sorted(xs)[int(0.9 * len(xs))] if xs else None


def bench_latency(reps):
    """A tiny forker's event latency under forktrace -a (the line's arrival on forktrace's
    stdout minus the event's kernel time), alone vs with a concurrent forker of 1 GiB
    children whose scans run meanwhile: the median, over the events that fell inside a
    big scan on the "with" side."""
    med = {"without": {}, "with": {}}
    failures, notes_with, lost, scans = [], [], [], []
    for rep in range(reps):
        for side in interleave(rep, ["without", "with"]):
            try:
                lat, inside, spans, nlost = latency_run(side == "with")
                lost.append(nlost)
                if side == "without":
                    if not lat:
                        raise RunFailed("no event of the tiny forker")
                    med[side][rep] = statistics.median(lat)
                    continue
                scans += spans
                if len(inside) < 20:
                    raise RunFailed(f"only {len(inside)} tiny-forker events inside the "
                                    f"{len(spans)} big scans")
                med[side][rep] = statistics.median(inside)
                notes_with.append(f"{len(inside):,} of {len(lat):,} events inside a scan, "
                                  f"p90 {p90(inside):,.0f} ms, all events' median "
                                  f"{statistics.median(lat):,.1f} ms")
            except (RunFailed, KeyError, ValueError) as e:
                failures.append(str(e) if isinstance(e, RunFailed) else f"bad report: {e!r}")
    notes = [f"forktrace -a --json on a pipe; tinyfork (1 thread, fork+_exit+wait every "
             f"{LAT_PACE_US} us) for {LAT_SECONDS:.0f} s; with: bigfork (2 threads, "
             f"{LAT_BIG_MIB} MiB touched) forks children living {LAT_LIFE_MS} ms, and only the "
             "tiny events whose kernel time falls inside one of their scans count"]
    if scans:
        notes.append(f"{len(scans)} big scans, median {statistics.median(scans):,.0f} ms")
    notes += [f"with, run {i + 1}: {n}" for i, n in enumerate(notes_with)]
    notes.append("lost_events per run: " + ", ".join(str(x) for x in lost))
    ratio_row("loop latency under -a: a tiny forker's events with big scans vs without "
              "(ms, median)", "ms", med["without"], med["with"], None, notes, failures)
    if lost:
        add_row("  lost events under -a (sum of lost_events counts)", "-",
                ", ".join(str(x) for x in lost), "-", "0", "per run, both sides",
                verdict="met" if max(lost) == 0 else "MISSED")


# ------------------------------------------------------------------ 6. Python support

PYTHON = "/usr/bin/python3"    # Debian 12's CPython 3.11
PY_PROG = os.path.join(SRC, "py_forkstorm.py")
PY_STORMS = [(20, 1500), (200, 300)]   # (threads, forks): ~1.5-2.5 s a run here
PY_ATTACH_THREADS = 200
T_PYFORK = 1.10                # Python support on / off, 20-thread storm
PY_SIDES = ["base", "off", "on"]


def named_orphans(evs, pid, threads):
    """(orphaned_threads events of pid, those naming every thread they list and
    accounting for all `threads` orphans, listed or omitted)."""
    orph = [e for e in evs if e.get("event") == "orphaned_threads" and e.get("pid") == pid]
    full = sum(1 for e in orph
               if e.get("threads") and all(t.get("name") for t in e["threads"]) and
               len(e["threads"]) + int(e.get("threads_omitted", 0)) == threads)
    return len(orph), full


def bench_pyfork(threads, forks, reps):
    if not os.access(PYTHON, os.X_OK):
        raise RunFailed(f"{PYTHON} not found")
    per = {s: {} for s in PY_SIDES}
    failures = {s: [] for s in PY_SIDES}
    stderr = {s: [] for s in PY_SIDES}
    ft_cpu = {s: [] for s in PY_SIDES}
    counts = {s: [] for s in PY_SIDES}      # (orphaned_threads events, fully named)
    for rep in range(reps):
        for side in interleave(rep, PY_SIDES):
            report = new_report("pyfork")
            argv = [PYTHON, PY_PROG, report, str(forks), str(threads)]
            try:
                if side == "base":
                    r = run_plain(argv, report, timeout=120)
                else:
                    out = new_path(f"pyfork-{side}.json")
                    r, _ = run_traced(["--json", f"--python={side}"], argv, report, out,
                                      timeout=120)
                    if "elapsed_ns" not in r:
                        raise RunFailed("the program reported nothing")
                    stderr[side].append(r["_stderr"])
                    ft_cpu[side].append(r["_cpu_s"] - int(r["cpu_ns"]) / 1e9)
                    evs = read_events(out)
                    counts[side].append(named_orphans(evs, int(r["pid"]), threads))
                per[side][rep] = int(r["elapsed_ns"]) / int(r["forks"]) / 1000
            except (RunFailed, KeyError, ValueError) as e:
                failures[side].append(str(e) if isinstance(e, RunFailed)
                                      else f"bad report: {e!r}")
            finally:
                PROCS.kill_all()

    def cpu(side):
        return f"forktrace's own CPU {median(ft_cpu[side]):.2f} s" if ft_cpu[side] else ""

    name = f"Python fork+exit storm, {forks:,} forks, parent with {threads} threads"
    notes = [f"baseline: forktrace --python=off, traced: forktrace (Python support on); {PYTHON}"]
    notes += [x for x in (f"per run, off: {cpu('off')}" if ft_cpu["off"] else "",
                          f"on: {cpu('on')}" if ft_cpu["on"] else "") if x]
    notes += said(stderr["on"])
    r_on = ratio_row(name + ", Python support on vs off (us/fork)", "us", per["off"], per["on"],
                     T_PYFORK if threads == 20 else None, notes,
                     failures["off"] + failures["on"])
    for side in ("off", "on"):
        ratio_row(f"  --python={side} vs untraced (us/fork)", "us", per["base"], per[side], None,
                  said(stderr[side]) if side == "off" else [],
                  failures["base"] + failures[side])
    if counts["on"]:
        ok = all(n == full == forks for n, full in counts["on"])
        add_row(f"  orphaned_threads events naming all {threads} threads", f"{forks:,} forks",
                ", ".join(f"{full:,} of {n:,}" for n, full in counts["on"]), "-",
                f"{forks:,} of {forks:,}",
                "per --python=on run; --python=off runs: " +
                ", ".join(f"{full:,} of {n:,}" for n, full in counts["off"]) +
                (f"; an event lists at most 64 threads, the rest as threads_omitted"
                 if threads > 64 else ""),
                verdict="met" if ok else "MISSED")
    return r_on


def read_attach_line(p, deadline):
    """forktrace's first `attach` event on its stdout pipe, and when it came
    (monotonic); (None, None) at EOF or past the deadline."""
    buf = b""
    fd = p.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None, None
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event") == "attach":
                return e, time.monotonic()


def bench_pyattach(reps):
    if not os.access(PYTHON, os.X_OK):
        raise RunFailed(f"{PYTHON} not found")
    n = PY_ATTACH_THREADS
    report = new_report("pyattach")
    gate = new_path("pyattach.gate")
    perr = new_path("prog.stderr")
    ms = {"off": {}, "on": {}}
    failures = {"off": [], "on": []}
    named, listed, versions = {"off": [], "on": []}, [], set()
    try:
        with open(perr, "w") as ef:
            holder = PROCS.popen([PYTHON, PY_PROG, report, "0", str(n), gate], stderr=ef)
        if not wait_for(lambda: read_report(report).get("threads"), 30, alive=holder):
            raise RunFailed(f"py_forkstorm.py did not start its threads (exit status "
                            f"{holder.poll()}): {first_line(read_text(perr))}")
        pid = holder.pid
        for rep in range(reps):
            for side in interleave(rep, ["off", "on"]):
                check_not_hung()
                err = new_path("forktrace.stderr")
                t0 = time.monotonic()
                with open(err, "w") as ef:
                    p = PROCS.popen([FT, "--json", f"--python={side}", "-p", str(pid)],
                                    stdout=subprocess.PIPE, stderr=ef)
                try:
                    e, t1 = read_attach_line(p, t0 + 30)
                    if e is None:
                        rc = p.poll()
                        failures[side].append(forktrace_failure(rc, err) if rc is not None
                                              else "no attach line within 30 s")
                        continue
                    ms[side][rep] = (t1 - t0) * 1000
                    ths = e.get("threads") or []
                    named[side].append(sum(1 for t in ths if t.get("name")))
                    if side == "on":
                        listed.append(len(ths))
                        versions.add(str(e.get("python")))
                finally:
                    p.stdout.close()
                    note = stop_forktrace(p, err)
                    if note and rep in ms[side]:
                        failures[side].append(note)
    finally:
        with open(gate, "w"):
            pass
        PROCS.kill_all()
    notes = ["from forktrace's start to its attach line on stdout (--json -p PID); baseline "
             "--python=off, traced: Python support on"]
    mo, mn = median(ms["on"]), median(ms["off"])
    if mo is not None and mn is not None:
        notes.append(f"difference {mo - mn:+.1f} ms")
    if listed:
        notes.append(f"attach event with Python on (python {', '.join(sorted(versions))}): "
                     f"{min(named['on'])}-{max(named['on'])} named of {min(listed)}-{max(listed)} "
                     f"listed (the event lists at most 64 of the {n + 1} threads)")
    if named["off"]:
        notes.append(f"with it off: {max(named['off'])} named")
    ratio_row(f"attach to a Python process with {n} named threads (ms to the attach line)", "ms",
              ms["off"], ms["on"], None, notes, failures["off"] + failures["on"])


PY_LOCKHEAP = os.path.join(SRC, "py_lockheap.py")
PY_LOCKHEAP_MIB = 1024
T_PYLOCKSCAN = 1.10            # the scan with Python lock support on / off


def bench_pylockscan(reps):
    """The Python lock scan rides on the fork-time scan: the same child scanned
    with --python=on and --python=off, scan ns per run, side by side."""
    ns = {"off": {}, "on": {}}
    found, failures, stderr = [], [], []
    for rep in range(reps):
        for side in interleave(rep, ["off", "on"]):
            report, release = new_report("pylockscan"), new_path("pylockscan.release")
            out, err = new_path("pylockscan.json"), new_path("pylockscan.stderr")
            argv = [PYTHON, PY_LOCKHEAP, report, str(PY_LOCKHEAP_MIB), release]
            p = None
            try:
                check_not_hung()
                with open(err, "w") as ef:
                    p = PROCS.popen([FT, "--json", f"--python={side}", "-o", out, "--", *argv],
                                    stderr=ef)
                child = wait_for(lambda: read_report(report).get("child"), 120, alive=p)
                if not child:
                    raise RunFailed(forktrace_failure(p.poll(), err) if p.poll() is not None
                                    else "no fork reported within 120 s")
                child = int(child)

                def scan_of():
                    return next((e for e in read_events(out) if e.get("event") == "scan"
                                 and e.get("child_pid") == child), None)
                ev = wait_for(scan_of, 60, alive=p)
                with open(release, "w"):
                    pass
                if p.wait(timeout=60) != 0:
                    raise RunFailed(forktrace_failure(p.returncode, err))
                if not ev:
                    raise RunFailed("no scan event for the child")
                if not ev.get("scan_complete"):
                    raise RunFailed(f"scan incomplete: {ev.get('reason')}")
                ns[side][rep] = ev["ns"] / 1e6
                if side == "on":
                    found.append(sum(1 for e in read_events(out) if e.get("event") == "held_lock"
                                     and e.get("found_by") == "python"))
                stderr.append(read_text(err))
            except (RunFailed, ValueError, subprocess.TimeoutExpired) as e:
                failures.append(str(e))
            finally:
                if p is not None:
                    kill_group(p)
                PROCS.kill_all()
    notes = [f"{PY_LOCKHEAP_MIB} MiB of touched Python heap and 100,000 threading.Lock objects "
             f"(334 held); Python locks found per --python=on run: {found}",
             "baseline: the fork-time scan with --python=off; traced: with the Python lock "
             "scan in the same pass"] + said(stderr)
    ratio_row("Python lock scan: scan of a 1 GiB Python child, on vs off (ms)", "ms",
              ns["off"], ns["on"], T_PYLOCKSCAN, notes, failures)


def bench_python(reps):
    for threads, forks in PY_STORMS:
        bench_pyfork(threads, forks, reps)
    bench_pyattach(3 * reps)
    bench_pylockscan(reps)


# ------------------------------------------------------------------ table


BENCHES = ["forkstorm", "forkstorm4", "stacks", "syscall", "mutex", "uprobe", "scan", "scanread",
           "latency", "python", "report"]
# The fork storms take ~4 s a run and the scan ~2 s: 5 and 3 repetitions. The short
# loops are cheap and sensitive to the neighbours' load: 7. uprobe: ~4 s a repetition
# (3 sides, bpftrace's start-up), 5. python: ~12 s a repetition (3 sides of two storms,
# then 3 attaches a side), 5. All of it: ~3.5 minutes.
DEFAULT_REPS = {"forkstorm": 5, "forkstorm4": 3, "stacks": 3, "syscall": 7, "mutex": 7,
                "uprobe": 5, "scan": 3, "scanread": 3, "latency": 3, "python": 5, "report": 3}


def on_sigterm(signo, frame):
    raise KeyboardInterrupt   # unwinds through every finally: the processes are killed


def main():
    global FT, BIN, WORK, CURRENT
    signal.signal(signal.SIGTERM, on_sigterm)
    ap = argparse.ArgumentParser(description="forktrace benchmarks (ratios against a baseline)")
    ap.add_argument("forktrace", nargs="?", default=os.path.join(ROOT, "build", "forktrace"))
    ap.add_argument("--reps", type=int, default=None,
                    help="repetitions of each side of every benchmark (default: "
                         + ", ".join(f"{k} {v}" for k, v in DEFAULT_REPS.items()) + ")")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(BENCHES))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    only = [b for b in a.only.split(",") if b] or BENCHES
    for b in only:
        if b not in BENCHES:
            ap.error(f"unknown benchmark {b!r}")
    if a.reps is not None and a.reps < 1:
        ap.error("--reps must be at least 1")
    FT = os.path.abspath(a.forktrace)
    BIN = os.path.join(os.path.dirname(FT), "bench")
    os.makedirs(BIN, exist_ok=True)
    if os.geteuid() != 0:
        print("bench: not root: forktrace runs will fail (their error is shown in the table)",
              file=sys.stderr)
    WORK = tempfile.mkdtemp(prefix="ftbench-")
    os.chmod(WORK, 0o755)
    ft_given = FT
    if not os.access(FT, os.X_OK):
        print(f"bench: {FT} is not an executable: every traced run will fail", file=sys.stderr)
    else:
        # run a copy: a rebuild during the suite must not mix two binaries (or make
        # the file briefly unexecutable while the linker writes it)
        try:
            snap = os.path.join(WORK, "forktrace")
            shutil.copy2(FT, snap)
            FT = snap
        except OSError as e:
            print(f"bench: cannot copy {FT} ({e.strerror}): running it in place",
                  file=sys.stderr)

    reps = {b: a.reps or DEFAULT_REPS[b] for b in BENCHES}
    runs = {
        "forkstorm": lambda: bench_forkstorm(0, reps["forkstorm"]),
        "forkstorm4": lambda: bench_forkstorm(4, reps["forkstorm4"]),
        "stacks": lambda: bench_stacks(reps["stacks"]),
        "syscall": lambda: bench_syscall(reps["syscall"]),
        "mutex": lambda: bench_mutex(reps["mutex"]),
        "uprobe": lambda: bench_uprobe(reps["uprobe"]),
        "scan": lambda: bench_scan(reps["scan"]),
        "scanread": lambda: bench_scanread(reps["scanread"]),
        "latency": lambda: bench_latency(reps["latency"]),
        "python": lambda: bench_python(reps["python"]),
        "report": lambda: report_bench.bench(FT, new_path("report"), reps["report"], add_row, RunFailed),
    }
    t_start = time.monotonic()
    try:
        for b in only:
            CURRENT = b
            t0 = time.monotonic()
            print(f"bench: {b} ...", file=sys.stderr, flush=True)
            try:
                runs[b]()
            except RunFailed as e:
                add_row(b, notes=str(e), verdict="n/a")
            except Exception as e:         # a bug of ours must not hide the other results
                add_row(b, notes=f"benchmark crashed: {type(e).__name__}: {e}", verdict="n/a")
            print(f"bench: {b} took {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        add_row("(interrupted)", notes="the suite was interrupted")
    finally:
        PROCS.kill_all()
        if a.keep:
            print(f"bench: work files kept in {WORK}", file=sys.stderr)
        else:
            shutil.rmtree(WORK, ignore_errors=True)

    total = time.monotonic() - t_start
    print()
    print(f"forktrace benchmarks: {ft_given}, {os.cpu_count()} CPUs, {total:.0f} s; "
          "medians, ratio = traced / baseline (smaller is better)")
    print(render(ROWS, COLS, markdown=False))
    with open(os.path.join(BIN, "results.md"), "w") as f:
        f.write(render(ROWS, COLS, markdown=True) + "\n")
    with open(os.path.join(BIN, "results.json"), "w") as f:
        json.dump({"forktrace": ft_given, "seconds": round(total, 1), "rows": ROWS}, f, indent=1)
    print(f"\n(also written to {os.path.join(BIN, 'results.md')} and results.json)")
    return 0


FT = ""

if __name__ == "__main__":
    sys.exit(main())
