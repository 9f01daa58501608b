"""The report benchmark: `forktrace report` over a 100,000-event recording, and the page in Chromium.

    python3 bench/report_bench.py [FORKTRACE]      (also a row of bench/run.py: --only report)

The recording is synthetic but shaped like a real incident: a parent with 4
threads (Python names and frames) forks 25,000 children one after the other;
each is born without the threads (orphaned_threads, a warning, with their
stacks), one in ten exec's, one in fifty deadlocks (child_deadlock, an error,
with the blocked thread's stack) instead of exiting. The time is the median of
the runs of `forktrace report`; the page's is from navigation to drawn.
"""
import json
import os
import statistics
import subprocess
import sys
import time

EVENTS = 100_000
T_REPORT_S = 3.0        # "finishes in under a few seconds"


def frames(n, at):
    return [{"func": f"worker_{at}_{k}", "file": "/srv/app/pool.py", "line": 100 + k, "lang": "python"}
            for k in range(n)]


def make_recording(path, total=EVENTS):
    """Writes `total` events; returns how many processes they name."""
    t0 = 1_780_000_000 * 10**9
    threads = [{"tid": 1001 + k, "comm": "python3", "name": f"pool-{k}", "stack": frames(3, k)}
               for k in range(4)]
    n, pid, kids = 0, 1000, 0

    def line(f, ns, ev, **fields):
        nonlocal n
        s, frac = divmod(ns, 10**9)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:09d}Z"
        f.write(json.dumps(dict({"time": stamp, "event": ev}, **fields), separators=(",", ":")) + "\n")
        n += 1

    with open(path, "w") as f:
        line(f, t0, "attach", severity="info", pid=pid, comm="python3",
             threads=[{"tid": pid, "comm": "python3", "name": "MainThread"}], locks="scan")
        t = t0
        while n < total - 4:
            kids += 1
            child, t = pid + 10 + kids, t + 200_000
            line(f, t, "fork", severity="info", pid=pid, comm="python3", tid=pid, child_pid=child,
                 threads=5, main_thread=True, held_locks=0)
            line(f, t, "orphaned_threads", severity="warning", pid=pid, comm="python3", child_pid=child,
                 threads=threads)
            if kids % 50 == 0:
                line(f, t + 400_000_000, "child_deadlock", severity="error", pid=child, comm="python3",
                     tid=child, lock="0x7f0000001000", holder_tid=1001, holder_comm="python3",
                     holder_name="pool-0", parent_pid=pid, since_fork_ns=400_000_000, reason="held_at_fork",
                     lock_type="py_lock", lock_object="threading.Lock", stack=frames(4, "child"))
                continue
            if kids % 10 == 0:
                line(f, t + 50_000, "exec", severity="info", pid=child, comm="sh", filename="/bin/sh",
                     since_fork_ns=50_000)
            line(f, t + 900_000, "exit", severity="info", pid=child, comm="sh" if kids % 10 == 0 else "python3",
                 exit_code=0, signal=0)
        while n < total:
            line(f, t + 10**9, "exit", severity="info", pid=pid, comm="python3", exit_code=0, signal=0)
    return kids + 1


def time_report(ft, src, out, reps, failure):
    """Median seconds of `forktrace report src -o out` (and each run's), or raises failure."""
    times = []
    for _ in range(reps):
        t = time.monotonic()
        p = subprocess.run([ft, "report", src, "-o", out], capture_output=True, text=True, timeout=120)
        times.append(time.monotonic() - t)
        if p.returncode != 0:
            raise failure(f"forktrace report failed ({p.returncode}): {p.stderr.strip()[:200]}")
    return statistics.median(times), times


def page_in_chromium(html, work, failure):
    """(seconds from navigation to drawn, lanes, notes shown) or None when there is no chromium."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "lib"))
    import browser
    import harness
    harness.set_workdir(work)
    try:
        browser.chromium()
    except harness.Skip:
        return None
    with browser.Browser(timeout=120) as b:
        t = time.monotonic()
        b.call("Page.navigate", url="file://" + os.path.abspath(html))
        harness.wait_until(lambda: b.eval("document.body && document.body.dataset.ready") == "1", 120,
                           "the page drawn")
        took = time.monotonic() - t
        if b.errors:
            raise failure("the page logged errors: " + "; ".join(b.errors)[:200])
        return took, b.eval("document.querySelectorAll('.lane').length"), \
            b.eval("document.getElementById('notes').textContent")


def bench(ft, work, reps, add_row, failure=RuntimeError):
    """Adds one row: add_row(bench, traced=, target=, notes=, verdict=)."""
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, "report-100k.jsonl")
    out = os.path.join(work, "report-100k.html")
    procs = make_recording(src)
    mib = os.path.getsize(src) / 2**20
    med, times = time_report(ft, src, out, reps, failure)
    page = page_in_chromium(out, work, failure)
    notes = (f"{EVENTS:,} events, {procs:,} processes, {mib:.0f} MiB in, {os.path.getsize(out) / 2**20:.0f} MiB page;"
             f" runs {', '.join(f'{x:.2f}' for x in times)} s")
    if page:
        notes += f"; Chromium: drawn in {page[0]:.1f} s, {page[1]:,} lanes (the rest aggregated, and the page says so)"
    else:
        notes += "; chromium not installed: the page was not loaded"
    add_row(f"forktrace report, {EVENTS:,} events (s)", traced=f"{med:.2f}", target=f"≤{T_REPORT_S:.0f} s",
            notes=notes, verdict="met" if med <= T_REPORT_S else "missed")


def main():
    import tempfile
    ft = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                         os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "forktrace"))
    work = tempfile.mkdtemp(prefix="ftbench-report-")

    def show(bench, notes="", traced="-", target="-", verdict=None, **_):
        print(f"{bench}: {traced} (target {target}: {verdict}); {notes}")
    bench(ft, work, 3, show)


if __name__ == "__main__":
    main()
