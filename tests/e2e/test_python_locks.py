"""Python's locks held at fork, and the children that deadlock on them (SPEC.md "Python
programs"): a forked child blocked on a threading.RLock, a threading.Lock or the internal lock of
an io.Buffered* object is found from the child's memory, and its child_deadlock says which lock
(lock_type, lock_object) and, where the object records an owner that was not copied, the holder
by tid and Python name (held_at_fork, an error). Every scenario runs on every interpreter here,
Debian's python3 (3.11) and pyenv 3.6 to 3.13, one test per interpreter (a missing one is
skipped with the reason). The triggers report the tids and paths the events must carry."""
import os
import signal

from harness import (expect, expect_eq, fail, per_version, prog, run_forktrace, start,
                     start_forktrace, wait_until, workdir)

def tid_of(thread_line):
    """A report's "TID,COMM" -> TID."""
    return int(thread_line.split(",", 1)[0])


def expect_held_at_fork(dl, lock_type, holder, holder_name):
    """child_deadlock dl is the certain kind: an error, reason held_at_fork, on a lock of
    lock_type held by thread tid `holder` named holder_name."""
    expect_eq("child_deadlock.lock_type", dl.get("lock_type"), lock_type)
    expect_eq("child_deadlock.reason", dl["reason"], "held_at_fork")
    expect_eq("child_deadlock.severity", dl["severity"], "error")
    expect_eq("child_deadlock.holder_tid", dl["holder_tid"], holder)
    expect_eq("child_deadlock.holder_name", dl.get("holder_name"), holder_name)


def wait_child_deadlock(ft, child, timeout_s):
    """forktrace's child_deadlock for child, waited for while the trigger runs."""
    return ft.wait_for("child_deadlock", pid=child, timeout=timeout_s)


# ----------------------------------------------------- 1: the logging hang (a FileHandler, a fork)

@per_version(seconds=60)
def logging_hang(version):
    """a thread "chatter" logs through a logging.FileHandler while the main thread forks: the child blocks on a lock chatter held"""
    logs = os.path.join(workdir(), "logs")
    os.makedirs(logs, exist_ok=True)
    ft = start_forktrace(["--json", "--", *prog("py_logging_fork", logs, python_version=version)])
    ft.report.wait("caught", timeout=45, alive=ft.proc)   # said after "attempts"
    if ft.report.values("caught") == ["0"]:
        r = ft.finish()
        fail(f"could not catch chatter holding the lock in {r.report.get('attempts')} forks")
    child = ft.report.int("child")
    try:
        dl = wait_child_deadlock(ft, child, 15)
    finally:
        os.kill(ft.report.int("pid"), signal.SIGUSR1)     # the trigger's cue to kill the child
    r = ft.finish()
    r.expect_rc(0)
    rep = r.report
    expect_eq("the child's status", rep.int("child_status"), signal.SIGKILL)
    if version is not None:
        expect_eq("the trigger's version", rep.get("version"), version)
    expect_eq("child_deadlock.tid", dl["tid"], child)
    chatter = tid_of(rep.get("chatter"))
    if rep.get("version") == "3.6":
        # 3.6 re-inits no logging lock in the child: it blocks in Handler.handle on the
        # handler's own RLock, which chatter held
        expect_held_at_fork(dl, "py_rlock", chatter, "chatter")
        expect_eq("child_deadlock.lock_object", dl.get("lock_object"), "threading.RLock")
    else:
        # 3.7+ re-init the handler's lock; not the BufferedWriter's under its stream
        expect_held_at_fork(dl, "py_io", chatter, "chatter")
        obj = dl.get("lock_object") or ""
        expect("BufferedWriter" in obj and rep.get("log") in obj,
               f"child_deadlock.lock_object {obj!r} names no BufferedWriter of {rep.get('log')!r}")
    frames = [f for f in dl.get("stack") or [] if f.get("lang") == "python"]
    expect(any((f.get("file") or "").endswith(os.path.join("logging", "__init__.py"))
               for f in frames),
           f"child_deadlock.stack has no frame in logging/__init__.py: {frames}")
    for done in rep.ints("done_child"):
        r.none("child_deadlock", pid=done)


# ----------------------------------------------------- 2, 3: a worker holds a lock at the fork

def held_lock_child(version, kind):
    """py_held_at_fork KIND under forktrace -> (child_deadlock of the child, Result)"""
    ft = start_forktrace(["--json", "--", *prog("py_held_at_fork", kind, python_version=version)])
    ft.report.wait("blocked", alive=ft.proc)
    child = ft.report.int("child")
    try:
        dl = wait_child_deadlock(ft, child, 15)
    finally:
        os.kill(ft.report.int("pid"), signal.SIGUSR1)     # the trigger's cue to kill the child
    r = ft.finish()
    r.expect_rc(0)
    expect_eq("the child's status", r.report.int("child_status"), signal.SIGKILL)
    expect_eq("child_deadlock.tid", dl["tid"], child)
    if version is not None:
        expect_eq("the trigger's version", r.report.get("version"), version)
    return dl, r


@per_version(seconds=30)
def rlock_held_at_fork(version):
    """a thread "holder" is in `with rlock:` at the fork; the child's rlock.acquire() blocks"""
    dl, r = held_lock_child(version, "rlock")
    expect_held_at_fork(dl, "py_rlock", tid_of(r.report.get("holder")), "holder")
    expect_eq("child_deadlock.lock_object", dl.get("lock_object"), "threading.RLock")


@per_version(seconds=30)
def lock_acquired_at_fork(version):
    """a thread "holder" took a threading.Lock with acquire() (no `with`) before the fork; the child's acquire() blocks"""
    dl, _ = held_lock_child(version, "lock")
    expect_eq("child_deadlock.lock_type", dl.get("lock_type"), "py_lock")
    expect_eq("child_deadlock.lock_object", dl.get("lock_object"), "threading.Lock")
    # a plain Lock records no owner: what can be said of its holder may stay unknown
    expect(dl["reason"] in ("no_waker", "held_at_fork"),
           f"child_deadlock.reason {dl['reason']!r}, not no_waker or held_at_fork")


# ----------------------------------------------------- 4: diagnose, with nothing tracing at the fork

@per_version(seconds=30)
def diagnose_rlock_child(version):
    """diagnose on a child already blocked on an RLock that the parent's thread "holder" held at the fork"""
    target = start("py_held_at_fork", "rlock", python_version=version)
    try:
        target.wait_report("blocked")
        child = target.report.int("child")
        wait_until(lambda: open(f"/proc/{child}/syscall").read().startswith("202 "), 10,
                   f"child {child} blocking in a futex wait", target.proc)
        r = run_forktrace(["diagnose", "--json", str(child)])
        dl = r.one("child_deadlock", pid=child)
        expect_eq("child_deadlock.tid", dl["tid"], child)
        expect_held_at_fork(dl, "py_rlock", tid_of(target.report.get("holder")), "holder")
        expect_eq("child_deadlock.lock_object", dl.get("lock_object"), "threading.RLock")
        if version is not None:
            expect_eq("the trigger's version", target.report.get("version"), version)
    finally:
        os.kill(target.pid, signal.SIGUSR1)   # the trigger's cue to kill the child and end
    expect_eq("the trigger's exit status", target.finish(), 0)
