"""Python locks held at a fork, found in the forked child's copy of the interpreter's objects
(SPEC.md "Python programs"): a queue.Queue's mutex, the GIL at a fork Python did not make, the
controls that must stay silent, and the precision of the scan over a big heap. The logging
hang, RLock and Lock scenarios are in test_python_locks.py."""
import os
import signal

from harness import (expect, expect_eq, fail, per_version, prog, start_forktrace,
                     trace)
from pylocks import held_lock_child, tid_of

# where the GIL's state is known (PYTHON.md "The GIL"): None is Debian's 3.11
GIL_VERSIONS = (None, "3.11", "3.12", "3.13")


@per_version(seconds=30)
def queue_mutex_held(version):
    """a producer thread holds a queue.Queue's mutex at the fork; the child's put() blocks on it"""
    dl, r = held_lock_child(version, "queue")
    expect_eq("child_deadlock.reason", dl["reason"], "held_at_fork")
    expect_eq("child_deadlock.severity", dl["severity"], "error")
    expect_eq("child_deadlock.lock_type", dl.get("lock_type"), "py_lock")
    expect_eq("child_deadlock.lock_object", dl.get("lock_object"), "threading.Lock")
    funcs = [f.get("func") for f in dl.get("stack") or [] if f.get("lang") == "python"]
    expect("put_one" in funcs, f"child_deadlock.stack does not pass through put_one: {funcs}")
    held = r.one("held_lock", child_pid=dl["pid"], lock=dl["lock"])
    expect_eq("held_lock.found_by", held["found_by"], "python")


@per_version(versions=GIL_VERSIONS, seconds=90)
def gil_held_at_raw_fork(version):
    """libc's fork() through ctypes while a thread "spinner" runs pure Python: the GIL held by spinner"""
    r = trace("py_gil_fork", options=("--json",), timeout=80, python_version=version)
    rep = r.report
    if rep.get("caught") != "1":
        fail(f"no child hung in {rep.get('attempts')} forks: the spinner never held the GIL")
    r.expect_rc(0)
    spinner, child = tid_of(rep.get("spinner")), rep.int("child")
    gil = r.one("held_lock", child_pid=child, lock_type="gil")
    expect_eq("held_lock.found_by", gil["found_by"], "python")
    expect_eq("held_lock.severity", gil["severity"], "warning")
    expect_eq("held_lock.holder_tid", gil["holder_tid"], spinner)
    expect_eq("held_lock.holder_name", gil.get("holder_name"), "spinner")
    expect_eq("held_lock.lock_object", gil.get("lock_object"), "the GIL")
    # the GIL is never said held by the forking thread, nor by anyone at the clean forks
    for ev in r.where("held_lock", lock_type="gil"):
        expect_eq("held_lock(gil).holder_tid", ev["holder_tid"], spinner)
    for done in rep.ints("done_child"):
        r.none("held_lock", child_pid=done, lock_type="gil")


@per_version(seconds=60)
def python_lock_controls(version):
    """released locks, idle concurrent.futures workers, a logging handler, an Event set by a signal handler, an exec at once: no lock hazard"""
    r = trace("py_lock_controls", options=("--json",), timeout=50, python_version=version)
    r.expect_rc(0)
    rep = r.report
    expect_eq("the trigger finished", rep.get("done"), "1")
    expect_eq("the Event child's status", rep.int("event_status"), 0)
    expect_eq("the exec child's status", rep.int("exec_status"), 0)
    r.none("child_deadlock")
    for ev in r.where("held_lock"):
        expect(ev["severity"] == "info", f"a held_lock above info: {ev}")


@per_version(versions=(None, "3.6", "3.12", "3.13"), seconds=60)
def many_locks_precision(version):
    """100,000 threading.Lock objects, every 300th held, 5,000 freed while held: each held one found, no freed one"""
    ft = start_forktrace(["--json", "--", *prog("py_many_locks", python_version=version)])
    ft.report.wait("child", timeout=40, alive=ft.proc)
    child = ft.report.int("child")
    try:
        ft.wait_for("scan", child_pid=child, timeout=30)
    finally:
        os.kill(ft.report.int("pid"), signal.SIGUSR1)   # the trigger's cue to end the child
    r = ft.finish()
    r.expect_rc(0)
    rep = r.report
    held = {int(a, 16) for a in rep.get("held").split(",")}
    freed = {int(a, 16) for a in rep.get("freed").split(",")}
    found = {int(e["lock"], 16) for e in r.where("held_lock", child_pid=child, lock_type="py_lock")}
    scan = r.one("scan", child_pid=child)
    expect(scan["scan_complete"], f"the scan was cut short: {scan}")
    missed = held - found
    expect(not missed, f"{len(missed)} of {len(held)} held Locks not found, e.g. {sorted(missed)[:3]}")
    expect(not found & freed, f"{len(found & freed)} freed Locks reported as held")
    # besides the held ones: only the idle thread's Event waiter (and the main thread's own)
    expect(len(found - held) <= 2, f"{len(found - held)} Locks reported held beyond the "
           f"{len(held)} the trigger holds")
