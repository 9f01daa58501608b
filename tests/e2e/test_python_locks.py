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
from pylocks import deadlock_then_release, held_lock_child, tid_of

def expect_held_at_fork(dl, lock_type, holder, holder_name):
    """child_deadlock dl is the certain kind: an error, reason held_at_fork, on a lock of
    lock_type held by thread tid `holder` named holder_name."""
    expect_eq("child_deadlock.lock_type", dl.get("lock_type"), lock_type)
    expect_eq("child_deadlock.reason", dl["reason"], "held_at_fork")
    expect_eq("child_deadlock.severity", dl["severity"], "error")
    expect_eq("child_deadlock.holder_tid", dl["holder_tid"], holder)
    expect_eq("child_deadlock.holder_name", dl.get("holder_name"), holder_name)


def python_funcs(stack, file_suffix=None):
    """The functions of a stack's Python frames (of files ending in file_suffix)."""
    return [f.get("func") for f in stack or [] if f.get("lang") == "python"
            and (file_suffix is None or (f.get("file") or "").endswith(file_suffix))]


def expect_held_by_python(r, child, lock, lock_type, holder, holder_name, holder_func,
                          running_in=None):
    """The fork's held_lock for `lock`, found in the interpreter's objects: a warning naming
    its holder, with the holder's frames at the fork passing through holder_func. A holder
    that runs at the fork (running_in: the file it runs in) has its frames copied while it
    runs on another CPU: the chain can end early, but its frames are all in that file."""
    held = r.one("held_lock", child_pid=child, lock=lock)
    expect_eq("held_lock.found_by", held["found_by"], "python")
    expect_eq("held_lock.lock_type", held["lock_type"], lock_type)
    expect_eq("held_lock.severity", held["severity"], "warning")
    expect_eq("held_lock.holder_tid", held["holder_tid"], holder)
    expect_eq("held_lock.holder_name", held.get("holder_name"), holder_name)
    funcs = python_funcs(held.get("holder_stack"))
    cut_short = (running_in is not None and funcs
                 and funcs == python_funcs(held.get("holder_stack"), running_in))
    expect(holder_func in funcs or cut_short,
           f"held_lock.holder_stack does not pass through {holder_func}: {held.get('holder_stack')}")
    return held


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
    dl, r = deadlock_then_release(ft, child)
    rep = r.report
    if version is not None:
        expect_eq("the trigger's version", rep.get("version"), version)
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
    in_logging = os.path.join("logging", "__init__.py")
    expect(python_funcs(dl.get("stack"), in_logging),
           f"child_deadlock.stack has no frame in logging/__init__.py: {dl.get('stack')}")
    # found at the fork already, in the child's copy of the interpreter's objects
    held = expect_held_by_python(r, child, dl["lock"], dl["lock_type"], chatter, "chatter", "chat",
                                 running_in="logging/__init__.py")
    # copied at the instant of the fork: chatter inside logging, where it held the lock
    expect(python_funcs(held.get("holder_stack"), in_logging),
           f"held_lock.holder_stack has no frame in logging/__init__.py: {held.get('holder_stack')}")
    expect_eq("held_lock.lock_object", held.get("lock_object"), dl.get("lock_object"))
    expect_eq("child_deadlock.holder_stack", dl.get("holder_stack"), held.get("holder_stack"))
    if rep.get("version") != "3.6":
        # logging re-makes every handler's lock in the child: chatter's RLock is no hazard
        # (logging's own module lock is the forking thread's, taken for the fork: info)
        r.none("held_lock", child_pid=child, lock_type="py_rlock", holder_is_forker=False)
    for done in rep.ints("done_child"):
        r.none("child_deadlock", pid=done)


# ----------------------------------------------------- 2, 3: a worker holds a lock at the fork

@per_version(seconds=30)
def rlock_held_at_fork(version):
    """a thread "holder" is in `with rlock:` at the fork; the child's rlock.acquire() blocks"""
    dl, r = held_lock_child(version, "rlock")
    holder = tid_of(r.report.get("holder"))
    expect_held_at_fork(dl, "py_rlock", holder, "holder")
    expect_eq("child_deadlock.lock_object", dl.get("lock_object"), "threading.RLock")
    held = expect_held_by_python(r, dl["pid"], dl["lock"], "py_rlock", holder, "holder",
                                 "hold_with")
    expect_eq("held_lock.lock_object", held.get("lock_object"), "threading.RLock")
    expect_eq("child_deadlock.holder_stack", dl.get("holder_stack"), held.get("holder_stack"))


@per_version(seconds=30)
def lock_acquired_at_fork(version):
    """a thread "holder" took a threading.Lock with acquire() (no `with`) before the fork; the child's acquire() blocks"""
    dl, r = held_lock_child(version, "lock")
    expect_eq("child_deadlock.lock_type", dl.get("lock_type"), "py_lock")
    expect_eq("child_deadlock.lock_object", dl.get("lock_object"), "threading.Lock")
    # a plain Lock records no owner: held at the fork by nobody known, which is info; the
    # child blocking on it makes it certain
    expect_eq("child_deadlock.reason", dl["reason"], "held_at_fork")
    expect_eq("child_deadlock.severity", dl["severity"], "error")
    expect_eq("child_deadlock.holder_tid", dl["holder_tid"], 0)
    held = r.one("held_lock", child_pid=dl["pid"], lock=dl["lock"])
    expect_eq("held_lock.found_by", held["found_by"], "python")
    expect_eq("held_lock.severity", held["severity"], "info")
    expect_eq("held_lock.holder_tid", held["holder_tid"], 0)


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
