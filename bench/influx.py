#!/usr/bin/python3
"""The InfluxDB exporter's cost (python3 stdlib only; run as root).

    python3 bench/influx.py [--reps N] [--forks N] [--keep] [--markdown] [FORKTRACE]

Like bench/run.py, every number is a RATIO against a baseline measured side by
side in the same run: the repetitions alternate (A B, B A, ...), each side shows
its median, and no absolute time is asserted (2 shared, noisy cores).

The traced program is bench/progs/forkstorm.c (compiled into the run's temporary
directory): FORKS x (fork, child _exit(0), waitpid) from a parent with 2 idle
threads, so each fork makes a `fork`, an `orphaned_threads` and an `exit` event
(and sometimes a `scan`). It times its own fork loop.

1. Throughput to a live server. A real influxd 1.6 (tests/lib/influxd.py: a free
   loopback port, a fresh data directory) and
     baseline:      forktrace --json -o FILE -- forkstorm
     with exporter: forktrace --influx=URL --influx-db=bench --json -o FILE -- forkstorm
   events/s = events / forktrace's wall time (start to exit, so the exporter's
   final flush counts); with the exporter, events = the points forktrace says it
   delivered ("influx: N points delivered, N retried, N dropped" on stderr).
   Checked: delivered == JSON lines in FILE == count of points in influxd, and
   0 dropped. The database is dropped and created again before each run.
2. Tracing with the server down. influxd is stopped, and
     baseline:      forktrace --json -- forkstorm
     with exporter: forktrace --json --influx=URL-of-the-stopped-server ... -- forkstorm
   with forktrace's stdout a pipe that this script reads as it comes, stamping
   each read with time.time_ns(). Latency of a fork event = arrival of its line
   - its "time" (the kernel's timestamp of the fork). Shown: the storm's own time
   per fork, and the median and p99 of the fork events' latency (per run, then the
   median over the runs). Target: unchanged (<= 1.05x). Also checked: everything
   the exporter could not send is counted as dropped, not lost silently.

The table is printed at the end. Exit status 0 whether the targets are met or not;
2 for bad arguments.
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
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import harness  # noqa: E402  (tests/lib: workdir() and the Skip/Failure of influxd.py)
import influxd as influxd_lib  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import kill_group  # noqa: E402
from stats import fmt_num, interleave, median, ratio_noise, render, spread  # noqa: E402

STORM_SRC = os.path.join(ROOT, "bench", "progs", "forkstorm.c")
FORKS = 5000
THREADS = 2            # idle threads of the storm's parent
DEFAULT_REPS = 7
RUN_TIMEOUT = 120      # seconds, one forktrace run (the server-down runs spend 5 s in close)
T_UNCHANGED = 1.05
DB = "bench"

SUMMARY_RE = re.compile(r"influx: (\d+) points? delivered, (\d+) retried, (\d+) dropped")

ROWS = []
POPENS = []
FT = ""
WORK = ""
STORM = ""


class RunFailed(Exception):
    pass


# ------------------------------------------------------------------ processes

def popen(argv, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.DEVNULL)
    try:
        p = subprocess.Popen(argv, start_new_session=True, **kw)
    except OSError as e:
        raise RunFailed(f"cannot run {argv[0]}: {e.strerror}")
    POPENS.append(p)
    return p


def kill_all():
    for p in POPENS:
        kill_group(p)
    POPENS.clear()


def reap(p, deadline):
    """Wait for p until the monotonic deadline; (exit code, CPU seconds of p and the
    children it waited for). Kills the group and raises on timeout."""
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return p.returncode, ru.ru_utime + ru.ru_stime
        if time.monotonic() > deadline:
            kill_group(p)
            raise RunFailed(f"forktrace did not exit within {RUN_TIMEOUT} s")
        time.sleep(0.005)


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def read_report(path):
    out = {}
    for line in read_text(path).splitlines():
        k, _, v = line.partition("=")
        if v:
            out[k] = v
    return out


def first_error(err):
    for line in err.splitlines():
        if line.strip() and not SUMMARY_RE.search(line):
            return line.strip()
    return ""


_n = 0


def new_path(prefix):
    global _n
    _n += 1
    return os.path.join(WORK, f"{_n:03d}-{prefix}")


def storm_argv(report):
    return [STORM, report, str(FORKS), str(THREADS)]


def finish_run(rc, report, err, cpu, wall):
    rep = read_report(report)
    if rc != 0 or "elapsed_ns" not in rep:
        why = first_error(err) or f"exit status {rc}"
        raise RunFailed(f"forktrace: {why}")
    forks = int(rep["forks"])
    return {
        "wall": wall,
        "us_per_fork": int(rep["elapsed_ns"]) / forks / 1e3,
        "ft_cpu": max(0.0, cpu - int(rep["cpu_ns"]) / 1e9),
        "forks": forks,
        "summary": summary_of(err),
        "err": err,
    }


def summary_of(err):
    m = None
    for m in SUMMARY_RE.finditer(err):
        pass
    return tuple(int(x) for x in m.groups()) if m else None


def run_to_file(extra):
    """forktrace EXTRA --json -o FILE -- storm; events counted from FILE."""
    out, report, errf = new_path("out.json"), new_path("report.txt"), new_path("stderr.txt")
    argv = [FT] + extra + ["--json", "-o", out, "--"] + storm_argv(report)
    with open(errf, "wb") as ef:
        t0 = time.monotonic()
        p = popen(argv, stderr=ef)
        rc, cpu = reap(p, t0 + RUN_TIMEOUT)
        wall = time.monotonic() - t0
    r = finish_run(rc, report, read_text(errf), cpu, wall)
    kinds = {}
    with open(out, "rb") as f:
        lines = f.read().splitlines()
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        kinds[ev.get("event")] = kinds.get(ev.get("event"), 0) + 1
    r["lines"] = len(lines)
    r["kinds"] = kinds
    r["fork_events"] = kinds.get("fork", 0)
    r["lost"] = kinds.get("lost_events", 0)
    return r


def parse_time_ns(s):
    """'2026-11-25T14:23:37.653399380Z' -> integer ns since the epoch (UTC)."""
    s = s.rstrip("Z")
    base, _, frac = s.partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1_000_000_000 + int((frac + "000000000")[:9])


def run_to_pipe(extra):
    """forktrace EXTRA --json -- storm with stdout a pipe read here; every read is
    stamped with time.time_ns(), and each fork event's latency is its line's
    arrival minus its "time"."""
    report, errf = new_path("report.txt"), new_path("stderr.txt")
    argv = [FT] + extra + ["--json", "--"] + storm_argv(report)
    chunks = []
    with open(errf, "wb") as ef:
        t0 = time.monotonic()
        deadline = t0 + RUN_TIMEOUT
        p = popen(argv, stderr=ef, stdout=subprocess.PIPE)
        fd = p.stdout.fileno()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    kill_group(p)
                    raise RunFailed(f"forktrace did not exit within {RUN_TIMEOUT} s")
                ready, _, _ = select.select([fd], [], [], min(left, 1.0))
                if not ready:
                    continue
                data = os.read(fd, 1 << 20)
                stamp = time.time_ns()
                if not data:
                    break
                chunks.append((stamp, data))
        finally:
            p.stdout.close()
        rc, cpu = reap(p, deadline)
        wall = time.monotonic() - t0
    r = finish_run(rc, report, read_text(errf), cpu, wall)
    series, lines, partial, kinds = [], 0, b"", {}
    for stamp, data in chunks:
        parts = (partial + data).split(b"\n")
        partial = parts.pop()
        for line in parts:
            if not line:
                continue
            lines += 1
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            kind = ev.get("event")
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind == "fork":
                t = parse_time_ns(ev["time"])
                series.append((t, (stamp - t) / 1e3))   # us
    lat = sorted(x for _, x in series)
    r["lines"] = lines
    r["kinds"] = kinds
    r["fork_events"] = len(lat)
    r["lost"] = kinds.get("lost_events", 0)
    r["lat_med"] = statistics.median(lat) if lat else None
    r["lat_p99"] = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None
    r["lat_max"] = lat[-1] if lat else None
    r["lat_neg"] = sum(1 for x in lat if x < 0)
    r["lat_series"] = series       # (kernel time ns, latency us) of each fork event
    r["worst_at"] = None
    if len(series) > 1 and series[-1][0] > series[0][0]:
        # where in the storm the slowest line was: a stall of the exporter's own
        # (its first batch is due after 5000 lines) shows at the same place every run
        t_worst = max(series, key=lambda x: x[1])[0]
        r["worst_at"] = round(100 * (t_worst - series[0][0]) / (series[-1][0] - series[0][0]))
    return r


def compile_storm():
    exe = os.path.join(WORK, "forkstorm")
    cc = subprocess.run(["cc", "-O2", "-pthread", "-o", exe, STORM_SRC],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if cc.returncode:
        raise RunFailed("cannot compile bench/progs/forkstorm.c: " + first_error(cc.stdout))
    return exe


# ------------------------------------------------------------------ table


def add_row(bench, baseline="-", exporter="-", ratio="-", target="-", notes="", verdict=None):
    ROWS.append({"benchmark": bench, "baseline": baseline, "with exporter": exporter,
                 "ratio": ratio, "target": target, "verdict": verdict, "notes": notes})


def ratio_row(bench, unit, base, other, target, notes, failures, higher_better=False):
    """base and other: lists indexed by repetition (None where a run failed)."""
    mb, mo = median(base), median(other)
    notes = list(notes)
    if failures:
        uniq = sorted(set(failures))
        notes.append(f"{len(failures)} failed run(s): " + "; ".join(uniq[:3]))
    tgt = "none" if not target else (f">= {target:.2f}x" if higher_better else f"<= {target:.2f}x")
    if mb is None or mo is None or mb <= 0:
        add_row(bench, fmt_num(mb, unit), fmt_num(mo, unit), "-", tgt,
                "; ".join(notes) or "no measurement", verdict="n/a" if target else None)
        return None
    r = mo / mb
    u = ratio_noise(base, other, r)
    verdict = None
    if target:
        n = min(len([x for x in base if x is not None]), len([x for x in other if x is not None]))
        if r <= target:
            verdict = "met"
        elif n < 3:
            verdict = "MISSED, but too few reps to know the noise"
        elif r - 2 * u <= target:
            verdict = "inconclusive: within noise"
        else:
            verdict = "MISSED"
    paired = sorted(o / b for b, o in zip(base, other) if b and o is not None and b > 0)
    if len(paired) > 1:
        notes.append(f"paired ratios {paired[0]:.2f}-{paired[-1]:.2f} "
                     f"(median {statistics.median(paired):.2f})")
    for side, xs in (("baseline", base), ("with exporter", other)):
        s = spread(xs, unit)
        if s:
            notes.append(f"{side} {s}")
    add_row(bench, fmt_num(mb, unit), fmt_num(mo, unit),
            f"{r:.2f}x" + (f" ±{u:.2f}" if u else ""), tgt, "; ".join(notes), verdict)
    return r


COLS = ["benchmark", "baseline", "with exporter", "ratio", "target", "notes"]


def progress(msg):
    print(f"bench/influx: {msg}", file=sys.stderr, flush=True)


def fmt_list(xs):
    return ", ".join(f"{x:,}" if isinstance(x, int) else str(x) for x in xs)


# ------------------------------------------------------------------ 1. live server

def count_points(server):
    """Points of the measurement in the bench database: count(*) gives one column per
    field; pid is in every event, so count_pid is the number of points."""
    rows = server.rows('SELECT count(*) FROM "forktrace"', DB)
    if not rows:
        return 0, 0
    counts = {k: v for k, v in rows[0].items() if k.startswith("count_")}
    return counts.get("count_pid", 0), max(counts.values() or [0])


def bench_live(server, reps):
    url = server.url
    base, exp = [None] * reps, [None] * reps
    base_us, exp_us = [None] * reps, [None] * reps
    base_wall, exp_wall = [None] * reps, [None] * reps
    base_cpu, exp_cpu = [None] * reps, [None] * reps
    failures, checks, check_ok = [], [], True
    for rep in range(reps):
        for side in interleave(rep, ["base", "exp"]):
            progress(f"live server, rep {rep + 1}/{reps}: {'exporter' if side == 'exp' else 'baseline'}")
            try:
                if side == "base":
                    r = run_to_file([])
                    base[rep] = r["lines"] / r["wall"]
                    base_us[rep], base_wall[rep], base_cpu[rep] = r["us_per_fork"], r["wall"], r["ft_cpu"]
                    continue
                server.query(f'DROP DATABASE "{DB}"')
                server.create_database(DB)
                r = run_to_file([f"--influx={url}", f"--influx-db={DB}"])
                s = r["summary"]
                if s is None:
                    raise RunFailed("no \"influx: ... delivered\" line on stderr: "
                                    + (first_error(r["err"]) or "(empty)"))
                delivered, retried, dropped = s
                points, points_max = count_points(server)
                exp[rep] = delivered / r["wall"]
                exp_us[rep], exp_wall[rep], exp_cpu[rep] = r["us_per_fork"], r["wall"], r["ft_cpu"]
                ok = (delivered == r["lines"] == points == points_max and dropped == 0
                      and r["fork_events"] == FORKS and r["lost"] == 0)
                check_ok &= ok
                checks.append((delivered, r["lines"], points, retried, dropped, r["fork_events"],
                               r["lost"], ok))
            except (RunFailed, harness.Failure, OSError) as e:
                failures.append(str(e))
                if side == "exp":
                    check_ok = False

    ratio_row(f"events/s exported to a local influxd 1.6 ({FORKS:,} forks, {THREADS} idle threads)",
              "ev/s", base, exp, None,
              ["higher is better; events / forktrace's wall time from start to exit",
               "baseline: JSON lines written to -o FILE by forktrace --json without --influx",
               "with exporter: points delivered",
               f"forktrace wall {fmt_num(median(base_wall), 's')} -> {fmt_num(median(exp_wall), 's')}",
               f"forktrace's own CPU {fmt_num(median(base_cpu), 's')} -> {fmt_num(median(exp_cpu), 's')}"],
              failures, higher_better=True)
    if checks:
        good = [c for c in checks if c[7]]
        cell = f"{len(good)} of {reps} runs" + (
            f" ({min(c[0] for c in good):,}-{max(c[0] for c in good):,} points each)" if good else "")
        bad = [f"delivered {d:,}, JSON lines {n:,}, points in influxd {p:,}, dropped {dr:,}"
               f"{'' if f == FORKS else f', fork events {f:,}'}{f', lost_events lines {lo}' if lo else ''}"
               for d, n, p, _, dr, f, lo, ok in checks if not ok]
        if bad:
            cell += "; not equal: " + "; ".join(bad)
        add_row("  delivered = JSON lines = points in influxd; 0 dropped", "-", cell, "-",
                "equal, 0 dropped",
                f"per exporter run: retried {fmt_list([c[3] for c in checks])}; "
                f"fork events {fmt_list([c[5] for c in checks])} (want {FORKS:,}); "
                f"lost_events lines {fmt_list([c[6] for c in checks])}",
                verdict="met" if check_ok and len(checks) == reps else "MISSED")
    else:
        add_row("  delivered = JSON lines = points in influxd; 0 dropped", "-", "-", "-",
                "equal, 0 dropped", "no exporter run completed", verdict="n/a")
    ratio_row("  storm's own time, server up (us/fork)", "us", base_us, exp_us, None,
              ["the program's fork loop only"], [])


# ------------------------------------------------------------------ 2. server down

def bench_down(url, reps):
    keys = ("us_per_fork", "lat_med", "lat_p99", "wall", "ft_cpu", "lat_max", "lat_neg", "worst_at")
    base = {k: [None] * reps for k in keys}
    exp = {k: [None] * reps for k in keys}
    failures, checks = [], []
    for rep in range(reps):
        for side in interleave(rep, ["base", "exp"]):
            progress(f"server down, rep {rep + 1}/{reps}: {'exporter' if side == 'exp' else 'baseline'}")
            try:
                extra = [] if side == "base" else [f"--influx={url}", f"--influx-db={DB}"]
                r = run_to_pipe(extra)
                d = base if side == "base" else exp
                for k in keys:
                    d[k][rep] = r[k]
                if side == "exp":
                    s = r["summary"]
                    said = "cannot write to InfluxDB" in r["err"]
                    checks.append((r["lines"], s, said, r["fork_events"], r["lost"]))
            except (RunFailed, OSError) as e:
                failures.append(str(e))

    common = ["baseline: forktrace --json, stdout a pipe read by this script; "
              f"with exporter: also --influx={url} (influxd stopped, nothing listens)"]
    ratio_row("storm's own time, server down (us/fork)", "us", base["us_per_fork"],
              exp["us_per_fork"], T_UNCHANGED, ["the program's fork loop only"] + common, failures)
    neg = sum(x or 0 for x in base["lat_neg"] + exp["lat_neg"])
    ratio_row("fork event latency, server down: median (us)", "us", base["lat_med"], exp["lat_med"],
              T_UNCHANGED,
              ["per run: median over its fork events of (arrival of the line in the pipe - "
               "the event's kernel time); shown: the median over the runs"]
              + ([f"{neg} negative latencies"] if neg else []), [])
    def at(xs):
        return ", ".join("-" if x is None else f"{x}%" for x in xs)
    ratio_row("fork event latency, server down: p99 (us)", "us", base["lat_p99"], exp["lat_p99"],
              T_UNCHANGED,
              [f"max {fmt_num(median(base['lat_max']), 'us')} -> {fmt_num(median(exp['lat_max']), 'us')} "
               "(median over runs)",
               f"the slowest fork event came at this point of the storm: baseline {at(base['worst_at'])}; "
               f"with exporter {at(exp['worst_at'])}"], [])
    if checks:
        def good(c):
            n, sm, said, f, _ = c
            return sm is not None and sm[0] == 0 and sm[2] == n and said and f == FORKS
        ok = [c for c in checks if good(c)]
        cell = f"{len(ok)} of {reps} runs: 0 delivered, every event counted as dropped"
        if ok:
            cell += f" ({min(c[0] for c in ok):,}-{max(c[0] for c in ok):,} each)"
        bad = [f"{n:,} events: " + (f"{sm[0]:,} delivered, {sm[2]:,} dropped" if sm else "no summary line")
               + ("" if said else ", outage not said") + ("" if f == FORKS else f", {f:,} fork events")
               for n, sm, said, f, _ in checks if not good((n, sm, said, f, _))]
        if bad:
            cell += "; others: " + "; ".join(bad)
        add_row("  nothing lost silently while the server is down", "-", cell, "-",
                "delivered 0, dropped = events",
                f"retried {fmt_list([c[1][1] if c[1] else '-' for c in checks])} (per run); "
                f"'cannot write to InfluxDB' said in {sum(c[2] for c in checks)} of {len(checks)} runs; "
                f"forktrace wall {fmt_num(median(base['wall']), 's')} -> {fmt_num(median(exp['wall']), 's')} "
                "(the exporter spends up to 5 s trying to flush at exit); "
                f"forktrace's own CPU {fmt_num(median(base['ft_cpu']), 's')} -> "
                f"{fmt_num(median(exp['ft_cpu']), 's')}; fork events {fmt_list([c[3] for c in checks])}; "
                f"lost_events lines {fmt_list([c[4] for c in checks])}",
                verdict="met" if len(ok) == len(checks) == reps else "MISSED")


# ------------------------------------------------------------------ main

def loadavg():
    """The 1-minute load average: other work on the host shows here (2 CPUs)."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "?"


def on_sigterm(signo, frame):
    raise KeyboardInterrupt


def main():
    global FT, WORK, STORM, FORKS
    signal.signal(signal.SIGTERM, on_sigterm)
    ap = argparse.ArgumentParser(description="forktrace's InfluxDB exporter: throughput and cost")
    ap.add_argument("forktrace", nargs="?", default=os.path.join(ROOT, "build", "forktrace"))
    ap.add_argument("--reps", type=int, default=DEFAULT_REPS, help="repetitions of each side")
    ap.add_argument("--forks", type=int, default=FORKS, help="forks per storm")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    a = ap.parse_args()
    if a.reps < 1 or a.forks < 1:
        ap.error("--reps and --forks must be at least 1")
    FORKS = a.forks
    if os.geteuid() != 0:
        progress("not root: forktrace runs will fail (their error is shown in the table)")
    WORK = tempfile.mkdtemp(prefix="ftbench-influx-")
    os.chmod(WORK, 0o755)
    harness.set_workdir(WORK)           # influxd's data directory goes in here
    server = None
    t_start = time.monotonic()
    load0 = loadavg()
    try:
        try:
            snap = os.path.join(WORK, "forktrace")
            shutil.copy2(os.path.abspath(a.forktrace), snap)   # a rebuild must not mix binaries
            FT = snap
            STORM = compile_storm()
        except (OSError, RunFailed) as e:
            add_row("setup", notes=str(e), verdict="n/a")
            STORM = ""
        if STORM:
            port = None
            try:
                server = influxd_lib.Influxd()
                port = server.port
                server.create_database(DB)
            except harness.Skip as e:
                add_row("events/s exported to a local influxd", target="none",
                        notes=f"not run: {e}", verdict="n/a")
            except harness.Failure as e:
                add_row("events/s exported to a local influxd", target="none",
                        notes=f"not run: {str(e).splitlines()[0]}", verdict="n/a")
            if server is not None and server.proc is not None:
                bench_live(server, a.reps)
            if server is not None:
                server.stop()
            if port is None:
                port = influxd_lib.free_port()
            bench_down(f"http://127.0.0.1:{port}", a.reps)
    except KeyboardInterrupt:
        add_row("interrupted", notes="the run was interrupted; the rows above are complete")
    finally:
        kill_all()
        if server is not None:
            server.stop()
        if a.keep:
            progress(f"work directory kept: {WORK}")
        else:
            shutil.rmtree(WORK, ignore_errors=True)
    print(f"\nforktrace InfluxDB exporter benchmark: {FORKS:,} forks per storm, parent with "
          f"{THREADS} idle threads, {a.reps} reps per side, {time.monotonic() - t_start:.0f} s; "
          f"load average {load0} at the start, {loadavg()} at the end\n")
    print(render(ROWS, COLS, markdown=a.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
