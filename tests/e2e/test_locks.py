"""Locks a forked child was born without: the fork-time scan (held_lock), the
deadlock watcher (child_deadlock), the lock modes, and the safe patterns that
must stay quiet.

Triggers: tests/progs/scan_hold.c, scan_controls.c, scan_py_lock.py,
scan_py_event.py. A child that hangs on an inherited lock never ends, and
neither does forktrace while it runs: those tests wait for the child_deadlock
event, kill the trigger's process group, and then expect forktrace to end by
itself.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import harness
from harness import (POLL, PYTHON, Skip, event_time_ns, expect, expect_eq, fail, prog, start,
                     start_forktrace, threads_of, timeout, trace, wait_until)

HOLDER = "ft-holder"                 # the worker that holds the lock in scan_hold
DEADLOCK_WITHIN_S = 1.0              # SPEC: "Reported within 1 s of the block"
HEX_RE = re.compile(r"^0x[0-9a-f]+$")
BPF_LINK_TYPE_PERF_EVENT, BPF_LINK_TYPE_UPROBE_MULTI = 7, 12   # enum bpf_link_type


# ---------------------------------------------------------------- helpers

def expect_lock(what, got, want_hex):
    """A lock field: a lowercase "0x..." string naming the address the trigger reported."""
    expect(isinstance(got, str) and HEX_RE.match(got), f"{what}: not a \"0x...\" hex string: {got!r}")
    expect_eq(what, int(got, 16), int(want_hex, 16))


def index_of(r, ev):
    return next(i for i, e in enumerate(r.events) if e is ev)


def expect_order(r, *evs):
    idx = [index_of(r, e) for e in evs]
    expect(idx == sorted(idx), "events out of order, expected "
           + " < ".join(e["event"] for e in evs) + f" (lines {idx})")


def expect_hazards(r, want):
    """The events of severity warning or error are exactly `want`: [(event, severity)]."""
    got = sorted((e["event"], e["severity"]) for e in r.events if e["severity"] != "info")
    if got != sorted(want):
        bad = [e for e in r.events if e["severity"] != "info"]
        fail(f"warnings/errors: expected {sorted(want)}, got {got}"
             + "".join("\n  " + str(e) for e in bad[:8]))


def our_links(pid):
    """{link id: link type} of the BPF links that process pid holds."""
    return {i: kind for i, (kind, _) in harness.bpf_links_of(pid).items()}


def fd_targets(pid):
    out = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            out.append(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            pass
    return out


def is_uprobe_link(kind):
    """A link type, as bpftool 7.1 prints it (a name, or a number for types it
    does not know: uprobe_multi is 12) or as the kernel's fdinfo names it."""
    return (kind in ("perf_event", "perf", BPF_LINK_TYPE_PERF_EVENT, BPF_LINK_TYPE_UPROBE_MULTI)
            or "uprobe" in str(kind))


def expect_no_uprobes(ft):
    """forktrace (running) attached no uprobe: none of its BPF links (found in its
    fdinfo) is a perf_event or uprobe link, by the kernel's fdinfo and by
    `bpftool -j link list`, and it holds no perf_event fd."""
    mine = our_links(ft.pid)
    expect(mine, f"forktrace (pid {ft.pid}) holds no BPF link at all: is it tracing?")
    for lid, fdtype in sorted(mine.items()):
        expect(not is_uprobe_link(fdtype), f"forktrace holds a uprobe link: id {lid}, link_type {fdtype}")
    perf = [t for t in fd_targets(ft.pid) if "perf_event" in t]
    expect(not perf, f"forktrace holds perf_event fds (uprobes?): {perf}")
    bpftool = shutil.which("bpftool") or shutil.which("bpftool", path="/usr/sbin:/sbin")
    if not bpftool:
        return      # the fdinfo said it all
    out = subprocess.run([bpftool, "-j", "link", "list"], capture_output=True, text=True, timeout=30,
                         stdin=subprocess.DEVNULL)
    expect_eq("bpftool -j link list exit status", out.returncode, 0)
    listed = {ln["id"]: ln for ln in json.loads(out.stdout or "[]")}
    for lid in sorted(mine):
        ln = listed.get(lid)
        expect(ln is not None, f"forktrace's link {lid} is not in bpftool's list")
        expect(not is_uprobe_link(ln.get("type")), f"forktrace holds a uprobe link: {ln}")


def until_killed(options, trigger, *args):
    """Start `forktrace OPTIONS -- trigger ARGS` whose child hangs, and wait for
    the child's child_deadlock. finish_killed() ends it."""
    ft = start_forktrace([*options, "--", *prog(trigger, *args)])
    ft.report.wait("child", alive=ft.proc)
    ft.report.wait("pgid", alive=ft.proc)
    child = ft.report.int("child")
    ft.wait_for("child_deadlock", pid=child, timeout=5)
    return ft


def finish_killed(ft, during=None):
    """Run during(ft) while it all still runs, kill the trigger's process group,
    and expect forktrace to end by itself with the command's status (128 + SIGKILL)."""
    try:
        if during:
            during(ft)
    finally:
        harness.kill_group(ft.report.int("pgid"))
    r = ft.finish(timeout=10)
    r.expect_rc(128 + signal.SIGKILL)
    expect_eq("the child took the inherited lock", r.report.values("child_took_lock"), [])
    return r


def expect_within_a_second(rep, dl):
    blocked = int(rep.get("child_block_time"))
    late = (event_time_ns(dl) - blocked) / 1e9
    expect(late <= DEADLOCK_WITHIN_S,
           f"child_deadlock came {late:.3f}s after the child blocked (SPEC: within 1 s)")


def check_held_at_fork(r, rep, lock_type):
    """scan_hold KIND hang under --locks=scan: the full story of one fork."""
    parent, child, worker = rep.int("pid"), rep.int("child"), rep.int("worker_tid")
    lock = rep.get("lock")

    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.tid", fork["tid"], parent)
    expect_eq("fork.threads", fork["threads"], 2)
    expect_eq("fork.main_thread", fork["main_thread"], True)
    expect_eq("fork.held_locks", fork["held_locks"], 1)

    scan = r.one("scan", child_pid=child)
    expect_eq("scan.pid", scan["pid"], parent)
    expect_eq("scan.severity", scan["severity"], "info")
    expect_eq("scan.scan_complete", scan["scan_complete"], True)
    expect_eq("scan.locks_found", scan["locks_found"], 1)
    expect(scan["bytes"] > 0 and scan["ns"] > 0, f"scan read nothing? {scan}")

    held = r.one("held_lock")
    expect_eq("held_lock.pid", held["pid"], parent)
    expect_eq("held_lock.child_pid", held["child_pid"], child)
    expect_lock("held_lock.lock", held["lock"], lock)
    expect_eq("held_lock.lock_type", held["lock_type"], lock_type)
    expect_eq("held_lock.holder_tid", held["holder_tid"], worker)
    expect_eq("held_lock.holder_comm", held["holder_comm"], HOLDER)
    expect_eq("held_lock.holder_is_forker", held["holder_is_forker"], False)
    expect_eq("held_lock.found_by", held["found_by"], "scan")
    expect_eq("held_lock.severity", held["severity"], "warning")
    expect("held_ns" not in held, f"held_ns is for uprobe mode only: {held}")

    orphans = r.one("orphaned_threads", pid=parent, child_pid=child)
    expect_eq("orphaned_threads.severity", orphans["severity"], "warning")
    expect_eq("orphaned_threads.threads", threads_of(orphans), rep.threads("thread"))
    r.none("fork_in_thread")

    dl = r.one("child_deadlock")
    expect_eq("child_deadlock.pid", dl["pid"], child)
    expect_eq("child_deadlock.tid", dl["tid"], child)
    expect_eq("child_deadlock.reason", dl["reason"], "held_at_fork")
    expect_eq("child_deadlock.severity", dl["severity"], "error")
    expect_lock("child_deadlock.lock", dl["lock"], lock)
    expect_eq("child_deadlock.holder_tid", dl["holder_tid"], worker)
    expect_eq("child_deadlock.holder_comm", dl["holder_comm"], HOLDER)
    expect_eq("child_deadlock.parent_pid", dl["parent_pid"], parent)
    expect_eq("child_deadlock.lock_type", dl.get("lock_type"), lock_type)
    expect(0 < dl["since_fork_ns"] < 30e9, f"child_deadlock.since_fork_ns: {dl['since_fork_ns']}")

    expect_order(r, fork, scan, held, orphans, dl)
    expect_hazards(r, [("held_lock", "warning"), ("orphaned_threads", "warning"),
                       ("child_deadlock", "error")])
    return dl


def held_then_deadlock(kind, lock_type, during=None):
    ft = until_killed(["--json"], "scan_hold", kind)
    r = finish_killed(ft, during)
    expect_eq("trigger kind", r.report.get("kind"), kind)
    dl = check_held_at_fork(r, r.report, lock_type)
    expect_within_a_second(r.report, dl)


# ---------------------------------------------------------------- 1, 2: held at the fork, then deadlocked

@timeout(40)
def test_scan_mutex_held_at_fork():
    """A named worker holds a normal mutex across the fork; the child locks it:
    held_lock (warning) then child_deadlock held_at_fork (error); no uprobe is attached."""
    held_then_deadlock("normal", "mutex", during=expect_no_uprobes)


@timeout(40)
def test_scan_rwlock_write_held_at_fork():
    """The same with an rwlock held for writing."""
    held_then_deadlock("rwlock-write", "rwlock_write")


@timeout(40)
def test_scan_recursive_mutex_held_at_fork():
    """The same with a recursive mutex the worker locked twice."""
    held_then_deadlock("recursive", "mutex")


@timeout(40)
def test_scan_errorcheck_mutex_held_at_fork():
    """The same with an error-checking mutex."""
    held_then_deadlock("errorcheck", "mutex")


# ---------------------------------------------------------------- 3: --locks=futex

def check_owner_gone(r, parent, child, worker, lock):
    dl = r.one("child_deadlock")
    expect_eq("child_deadlock.pid", dl["pid"], child)
    expect_eq("child_deadlock.tid", dl["tid"], child)
    expect_eq("child_deadlock.reason", dl["reason"], "owner_gone")
    expect_eq("child_deadlock.severity", dl["severity"], "error")
    expect_lock("child_deadlock.lock", dl["lock"], lock)
    expect_eq("child_deadlock.holder_tid", dl["holder_tid"], worker)
    expect_eq("child_deadlock.holder_comm", dl["holder_comm"], HOLDER)
    expect_eq("child_deadlock.parent_pid", dl["parent_pid"], parent)
    expect(dl.get("lock_type") in (None, "mutex"), f"child_deadlock.lock_type: {dl.get('lock_type')!r}")
    return dl


@timeout(40)
def test_futex_mode_owner_gone():
    """--locks=futex: no scan, no held_lock; the child's deadlock is still confirmed
    (owner_gone, the mutex's owner is the worker), with no uprobe attached."""
    ft = until_killed(["--json", "--locks=futex"], "scan_hold", "normal")
    r = finish_killed(ft, during=expect_no_uprobes)
    rep = r.report
    parent, child, worker = rep.int("pid"), rep.int("child"), rep.int("worker_tid")
    r.one("attach", pid=parent, locks="futex")
    expect_eq("fork.held_locks", r.one("fork", pid=parent, child_pid=child)["held_locks"], 0)
    r.none("scan")
    r.none("held_lock")
    dl = check_owner_gone(r, parent, child, worker, rep.get("lock"))
    expect_within_a_second(rep, dl)
    expect_hazards(r, [("orphaned_threads", "warning"), ("child_deadlock", "error")])


# ---------------------------------------------------------------- 4: -p after the lock was taken

def attached_after_lock(locks):
    target = start("scan_hold", "normal", "attach")
    target.wait_report("ready")
    ft = start_forktrace(["-p", str(target.pid), "--json", f"--locks={locks}"])
    ft.wait_for("attach", pid=target.pid)
    target.proceed()                                  # now fork
    target.wait_report("child")
    child = target.report.int("child")
    try:
        ft.wait_for("child_deadlock", pid=child, timeout=5)
    finally:
        harness.kill_group(target.proc, timeout=10)
    r = ft.finish(timeout=10)
    r.expect_rc(0)
    rep = target.report
    expect_eq("the child took the inherited lock", rep.values("child_took_lock"), [])
    attach = r.one("attach", pid=target.pid)
    expect_eq("attach.locks", attach["locks"], locks)
    expect_eq("attach.threads", len(attach["threads"]), 2)
    return r, rep


@timeout(40)
def test_attach_scan_held_at_fork():
    """-p attached after the worker took the lock; scan mode: held_lock, then held_at_fork."""
    r, rep = attached_after_lock("scan")
    dl = check_held_at_fork(r, rep, "mutex")
    expect_within_a_second(rep, dl)


@timeout(40)
def test_attach_futex_owner_gone():
    """-p attached after the worker took the lock; futex mode: owner_gone."""
    r, rep = attached_after_lock("futex")
    parent, child = rep.int("pid"), rep.int("child")
    r.none("scan")
    r.none("held_lock")
    dl = check_owner_gone(r, parent, child, rep.int("worker_tid"), rep.get("lock"))
    expect_within_a_second(rep, dl)
    expect_hazards(r, [("orphaned_threads", "warning"), ("child_deadlock", "error")])


# ---------------------------------------------------------------- 5: Python threading.Lock (a sem_t)

def python_lock_child(options):
    out = subprocess.run([PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=30)
    if out.stdout.strip() != "3.11":
        raise Skip(f"{PYTHON} is Python {out.stdout.strip()}, not 3.11")
    ft = until_killed(["--json", *options], "scan_py_lock")
    r = finish_killed(ft)
    rep = r.report
    parent, child = rep.int("pid"), rep.int("child")
    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.threads", fork["threads"], 2)
    dl = r.one("child_deadlock")
    expect_eq("child_deadlock.pid", dl["pid"], child)
    expect_eq("child_deadlock.tid", dl["tid"], child)
    expect_lock("child_deadlock.lock", dl["lock"], rep.get("lock"))
    expect_eq("child_deadlock.parent_pid", dl["parent_pid"], parent)
    expect_within_a_second(rep, dl)
    orphans = r.one("orphaned_threads", pid=parent, child_pid=child)
    expect_eq("orphaned_threads.threads", threads_of(orphans), rep.threads("thread"))
    return r, fork, dl


def python_lock_held(locks):
    """The Lock is found held at the fork in the interpreter's objects (a plain Lock records
    no holder: info), and the child blocking on it is certain: held_at_fork, an error."""
    r, fork, dl = python_lock_child([f"--locks={locks}"])
    held = [e for e in r.where("held_lock", child_pid=dl["pid"])
            if int(e["lock"], 16) == int(r.report.get("lock"), 16)]
    expect_eq("held_lock events for the Lock", len(held), 1)
    expect_eq("held_lock.found_by", held[0]["found_by"], "python")
    expect_eq("held_lock.lock_type", held[0]["lock_type"], "py_lock")
    expect_eq("held_lock.lock_object", held[0].get("lock_object"), "threading.Lock")
    expect_eq("held_lock.holder_tid", held[0]["holder_tid"], 0)
    expect_eq("held_lock.severity", held[0]["severity"], "info")
    expect_eq("fork.held_locks", fork["held_locks"], len(r.where("held_lock", child_pid=dl["pid"])))
    expect_eq("child_deadlock.reason", dl["reason"], "held_at_fork")
    expect_eq("child_deadlock.severity", dl["severity"], "error")
    expect_eq("child_deadlock.lock_type", dl.get("lock_type"), "py_lock")
    expect_eq("child_deadlock.lock_object", dl.get("lock_object"), "threading.Lock")
    expect_hazards(r, [("orphaned_threads", "warning"), ("child_deadlock", "error")])
    return r


@timeout(40)
def test_python_lock_held_scan():
    """Python 3.11: a thread holds a threading.Lock at os.fork(); the child's acquire()
    hangs: the Lock held at the fork (found_by python), the deadlock certain."""
    r = python_lock_held("scan")
    scan = r.one("scan", child_pid=r.report.int("child"))
    expect_eq("scan.locks_found", scan["locks_found"], len(r.where("held_lock")))


@timeout(40)
def test_python_lock_held_futex():
    """The same under --locks=futex: no scan event, the Python lock still found."""
    r = python_lock_held("futex")
    r.none("scan")


@timeout(40)
def test_python_lock_no_waker_python_off():
    """--python=off: a sem_t has no owner, nothing sees the Lock held; the hang is no_waker."""
    r, fork, dl = python_lock_child(["--python=off"])
    expect_eq("fork.held_locks", fork["held_locks"], 0)
    r.none("held_lock")
    expect_eq("child_deadlock.reason", dl["reason"], "no_waker")
    expect_eq("child_deadlock.severity", dl["severity"], "warning")
    expect_hazards(r, [("orphaned_threads", "warning"), ("child_deadlock", "warning")])


# ---------------------------------------------------------------- 6: controls

def expect_no_lock_hazard(r):
    rep = r.report
    if rep.values("child_took_lock") != ["1"] and not rep.values("child_iterations"):
        fail("the child did not take the mutex")
    r.none("held_lock")
    r.none("child_deadlock")
    r.none("exit_with_threads")
    expect_eq("the child's exit status", rep.int("child_status"), 0)


def gated(trigger, *args, options=("--json",)):
    """`forktrace OPTIONS -- trigger ARGS` whose child waits for SIGUSR1: it is sent
    once forktrace printed the child's scan (a child that is gone cannot be scanned)."""
    ft = start_forktrace([*options, "--", *prog(trigger, *args)])
    ft.report.wait("child", alive=ft.proc)
    child = ft.report.int("child")
    ft.wait_for("scan", child_pid=child)
    os.kill(child, signal.SIGUSR1)
    r = ft.finish()
    r.expect_rc(0)
    return r


def threaded_control(mode):
    r = gated("scan_controls", mode) if mode != "threads" else trace("scan_controls", mode)
    r.expect_rc(0)
    rep = r.report
    parent, child = rep.int("pid"), rep.int("child")
    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.threads", fork["threads"], 2)
    scan = r.one("scan", child_pid=child)
    expect_eq("scan.scan_complete", scan["scan_complete"], True)
    orphans = r.one("orphaned_threads", pid=parent, child_pid=child)
    expect_eq("orphaned_threads.severity", orphans["severity"], "warning")
    expect_eq("orphaned_threads.threads", threads_of(orphans), rep.threads("thread"))
    expect_hazards(r, [("orphaned_threads", "warning")])   # the child neither exec'd nor exited at once
    return r, fork, scan


def test_control_atfork_handlers():
    """pthread_atfork takes the busy worker's mutex in prepare, releases it in parent
    and child: at most an info held_lock of the forking thread, no deadlock."""
    r, fork, scan = threaded_control("atfork")
    rep = r.report
    r.none("child_deadlock")
    r.none("exit_with_threads")
    expect_eq("the child's exit status", rep.int("child_status"), 0)
    main_tid = int(rep.get("main").split(",")[0])
    held = r.where("held_lock")
    # prepare() made the forking thread the holder; the child's handler may already
    # have released it when the scan looked
    expect(len(held) <= 1, f"more than one held_lock: {held}")
    for h in held:
        expect_lock("held_lock.lock", h["lock"], rep.get("lock"))
        expect_eq("held_lock (forker's, by prepare())",
                  (h["severity"], h["holder_is_forker"], h["holder_tid"]), ("info", True, main_tid))
    expect_eq("fork.held_locks", fork["held_locks"], len(held))
    expect_eq("scan.locks_found", scan["locks_found"], len(held))


def test_control_cond_wait():
    """A worker sleeps in pthread_cond_wait at the fork: its mutex is not held."""
    r, fork, scan = threaded_control("condwait")
    expect_no_lock_hazard(r)
    expect_eq("fork.held_locks", fork["held_locks"], 0)
    expect_eq("scan.locks_found", scan["locks_found"], 0)


def test_control_released_before_fork():
    """The worker released its mutex before the fork: nothing is held."""
    r, fork, scan = threaded_control("released")
    expect_no_lock_hazard(r)
    expect_eq("fork.held_locks", fork["held_locks"], 0)
    expect_eq("scan.locks_found", scan["locks_found"], 0)


@timeout(40)
def test_control_child_threads_fresh_locks():
    """The child starts 4 threads that hammer their own fresh mutex, rwlock and
    condvar for 1.2 s, joins them and exits: no deadlock."""
    r, fork, scan = threaded_control("threads")
    expect_no_lock_hazard(r)
    expect(r.report.int("child_iterations") > 0, "the child's threads did no work")
    expect_eq("fork.held_locks", fork["held_locks"], 0)


def test_control_fork_exec_held_lock_is_info():
    """A worker holds a mutex; the child exec's /bin/true once the scan is done,
    within the grace: the held_lock is only info, no deadlock, no warning at all."""
    r = gated("scan_hold", "normal", "exec-on-signal", options=("--json", "--grace=5s"))
    rep = r.report
    parent, child, worker = rep.int("pid"), rep.int("child"), rep.int("worker_tid")
    expect_eq("the child's exit status", rep.int("child_status"), 0)
    expect_eq("exec.filename", r.one("exec", pid=child)["filename"], "/bin/true")
    held = r.one("held_lock", child_pid=child)
    expect_eq("held_lock.pid", held["pid"], parent)
    expect_lock("held_lock.lock", held["lock"], rep.get("lock"))
    expect_eq("held_lock", (held["lock_type"], held["holder_tid"], held["holder_comm"],
                            held["holder_is_forker"], held["found_by"], held["severity"]),
              ("mutex", worker, HOLDER, False, "scan", "info"))
    expect_eq("orphaned_threads.severity", r.one("orphaned_threads", child_pid=child)["severity"], "info")
    r.none("child_deadlock")
    r.quiet()


def test_control_fork_exec_at_once():
    """A worker holds a mutex; the child exec's /bin/true at once (default grace):
    no warning at all; a held_lock, if the scan saw the child before its exec, is info."""
    r = trace("scan_hold", "normal", "exec")
    r.expect_rc(0)
    rep = r.report
    child = rep.int("child")
    expect_eq("the child's exit status", rep.int("child_status"), 0)
    expect_eq("exec.filename", r.one("exec", pid=child)["filename"], "/bin/true")
    for held in r.where("held_lock"):
        expect_lock("held_lock.lock", held["lock"], rep.get("lock"))
        expect_eq("held_lock.severity", held["severity"], "info")
    r.none("child_deadlock")
    r.quiet()


def timed_wait(mode):
    r = trace("scan_controls", mode)
    r.expect_rc(0)
    rep = r.report
    expect_eq("the child's wait", rep.get("child_result"), "timedout")
    expect_eq("the child's exit status", rep.int("child_status"), 0)
    r.one("fork", pid=rep.int("pid"), child_pid=rep.int("child"))
    r.none("child_deadlock")
    r.quiet()


@timeout(30)
def test_control_cond_timedwait():
    """A forked single-threaded child waits 1.5 s in pthread_cond_timedwait: it has a
    timeout, so it is not a deadlock."""
    timed_wait("timedwait-cond")


@timeout(30)
def test_control_sem_timedwait():
    """The same with sem_timedwait."""
    timed_wait("timedwait-sem")


def _in_futex_wait(pid):
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split(" ", 1)[0] == "202"
    except OSError:
        return False


@timeout(30)
def test_control_python_event_sigterm():
    """A single-threaded forked Python child waits on an Event that its SIGTERM handler
    sets: at most a no_waker warning, never an error, and the child ends cleanly."""
    ft = start_forktrace(["--json", "--", *prog("scan_py_event")])
    ft.report.wait("child_waiting", alive=ft.proc)
    child = ft.report.int("child")
    wait_until(lambda: _in_futex_wait(child), 5, "the child waiting in futex()", ft.proc)
    # give forktrace the second it may take to say no_waker (not required: at most)
    deadline = time.monotonic() + DEADLOCK_WITHIN_S + 1
    while time.monotonic() < deadline and not ft.where("child_deadlock", pid=child):
        time.sleep(POLL)
    os.kill(child, signal.SIGTERM)
    r = ft.finish()
    r.expect_rc(0)
    rep = r.report
    expect_eq("the child was woken by its handler", rep.values("child_woken"), ["1"])
    expect_eq("the child's exit status", rep.int("child_status"), 0)
    r.one("fork", pid=rep.int("pid"), child_pid=child)
    dls = r.where("child_deadlock")
    expect(len(dls) <= 1, f"more than one child_deadlock: {dls}")
    for dl in dls:
        expect_eq("child_deadlock", (dl["pid"], dl["tid"], dl["reason"], dl["severity"]),
                  (child, child, "no_waker", "warning"))
    expect_hazards(r, [("child_deadlock", "warning")] * len(dls))
    r.one("exit", pid=child)


# ---------------------------------------------------------------- 7: the forking thread's own lock

def test_forker_holds_its_own_lock():
    """The forking thread holds a mutex at the fork (an idle worker exists too):
    held_lock with holder_is_forker true, severity info; no deadlock."""
    r = gated("scan_hold", "normal", "forker")
    rep = r.report
    parent, child = rep.int("pid"), rep.int("child")
    main_tid, main_comm = rep.get("main").split(",", 1)
    expect_eq("the child's exit status", rep.int("child_status"), 0)
    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.threads", fork["threads"], 2)
    expect_eq("fork.held_locks", fork["held_locks"], 1)
    scan = r.one("scan", child_pid=child)
    expect_eq("scan.locks_found", scan["locks_found"], 1)
    held = r.one("held_lock")
    expect_eq("held_lock.pid", held["pid"], parent)
    expect_eq("held_lock.child_pid", held["child_pid"], child)
    expect_lock("held_lock.lock", held["lock"], rep.get("lock"))
    expect_eq("held_lock", (held["lock_type"], held["holder_tid"], held["holder_comm"],
                            held["holder_is_forker"], held["found_by"], held["severity"]),
              ("mutex", int(main_tid), main_comm, True, "scan", "info"))
    r.none("child_deadlock")
    orphans = r.one("orphaned_threads", pid=parent, child_pid=child)
    expect_eq("orphaned_threads.threads", threads_of(orphans), rep.threads("thread"))
    expect_hazards(r, [("orphaned_threads", "warning")])
