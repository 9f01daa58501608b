"""`forktrace diagnose PID`: a process that is already hung, nothing traced it.

The triggers run without forktrace: hold_mutex forks while a worker holds a
lock and its child blocks on that lock; lock_contended only contends. Each
scenario waits until the thread is really blocked (its /proc syscall line
shows the futex wait), then runs diagnose and compares its events with the
facts the trigger reported.
"""
import contextlib

import harness
from harness import expect, expect_eq

SYS_FUTEX = 202
SYS_WAIT4 = 61
MUTEX_SIZE, RWLOCK_SIZE = 40, 56


@contextlib.contextmanager
def running(name, *args):
    """A trigger started directly (its own process group), killed on the way out."""
    target = harness.start(name, *args)
    try:
        yield target
    finally:
        harness.kill_group(target.proc)


@contextlib.contextmanager
def running_python(script):
    """A Python trigger given as source, run like a C one."""
    target = harness.Target([harness.python(), "-c", script])
    try:
        yield target
    finally:
        harness.kill_group(target.proc)


def syscall_of(pid, tid=None):
    """(syscall number, args) of a blocked thread, or None while it runs or is gone."""
    path = f"/proc/{pid}/task/{tid or pid}/syscall"
    try:
        with open(path) as f:
            fields = f.read().split()
    except OSError:
        return None
    if len(fields) < 7 or fields[0] in ("running", "-1"):
        return None
    return int(fields[0]), [int(a, 16) for a in fields[1:7]]


def wait_futex_wait(target, pid, tid=None, lo=None, hi=None, op=None, timeout=10):
    """Wait until the thread sleeps in futex(2) on an address in [lo, hi) (or with op)."""
    def blocked():
        sc = syscall_of(pid, tid)
        if not sc or sc[0] != SYS_FUTEX:
            return False
        uaddr, fop = sc[1][0], sc[1][1]
        return (lo is None or lo <= uaddr < hi) and (op is None or fop == op)
    harness.wait_until(blocked, timeout, f"thread {tid or pid} of {pid} blocking in a futex wait",
                       alive=target.proc)


def hung_child(target, kind_size=MUTEX_SIZE):
    """The facts of a hold_mutex run, once its child is blocked on the lock."""
    target.wait_report("child_pid")
    child = target.report.int("child_pid")
    lock = int(target.report.get("lock"), 16)
    wait_futex_wait(target, child, lo=lock, hi=lock + kind_size)
    return child, lock


def diagnose(pid, *options):
    return harness.run_forktrace(["diagnose", str(pid), *options])


def expect_owner_gone(r, target, child, lock, lock_type):
    r.expect_rc(3)
    ev = r.one("child_deadlock")
    expect_eq("reason", ev["reason"], "owner_gone")
    expect_eq("severity", ev["severity"], "error")
    expect_eq("pid", ev["pid"], child)
    expect_eq("tid (the blocked thread)", ev["tid"], child)
    expect_eq("lock", int(ev["lock"], 16), lock)
    expect_eq("lock_type", ev.get("lock_type"), lock_type)
    expect_eq("holder_tid", ev["holder_tid"], target.report.int("worker_tid"))
    # gone from the child, the holder still lives in the parent, which names it
    expect_eq("holder_comm (from the parent)", ev["holder_comm"], "ft-holder")
    expect_eq("parent_pid", ev["parent_pid"], target.report.int("pid"))
    expect_eq("since_fork_ns (nothing saw the fork)", ev["since_fork_ns"], 0)


# ---------------------------------------------------------------- deadlocks

def test_owner_gone_mutex():
    with running("hold_mutex", "normal") as t:
        child, lock = hung_child(t)
        expect_owner_gone(diagnose(child, "--json"), t, child, lock, "mutex")


def test_owner_gone_every_lock_kind():
    for kind, lock_type, size in (("recursive", "mutex", MUTEX_SIZE),
                                  ("errorcheck", "mutex", MUTEX_SIZE),
                                  ("adaptive", "mutex", MUTEX_SIZE),
                                  ("robust", "mutex", MUTEX_SIZE),
                                  ("rwlock-write", "rwlock_write", RWLOCK_SIZE)):
        with running("hold_mutex", kind) as t:
            child, lock = hung_child(t, size)
            r = diagnose(child, "--json")
            try:
                expect_owner_gone(r, t, child, lock, lock_type)
            except AssertionError as e:
                raise AssertionError(f"{kind}: {e}") from None


def test_owner_gone_explained_in_human_output():
    with running("hold_mutex", "normal") as t:
        child, _ = hung_child(t)
        r = diagnose(child)
        r.expect_rc(3)
        expect_eq("stderr", r.stderr, "")
        worker = t.report.int("worker_tid")
        expect(f"thread {worker}, does not exist in this process" in r.stdout,
               f"the explanation does not say the owner {worker} is gone:\n{r.stdout}")
        expect("deadlock confirmed" in r.stdout, f"no verdict in:\n{r.stdout}")
        expect(r.stdout.rstrip().endswith("deadlock confirmed: 1 thread can never proceed"),
               f"the verdict is not the last line:\n{r.stdout}")
        expect(f"parent {t.report.int('pid')}" in r.stdout, f"no parent pid in:\n{r.stdout}")


def test_no_waker_semaphore():
    """A single-threaded child waiting forever on a private semaphore: only a
    signal handler could wake it, so a warning, and no confirmed deadlock."""
    with running("hold_mutex", "semaphore") as t:
        child, lock = hung_child(t)
        r = diagnose(child, "--json")
        r.expect_rc(0)
        ev = r.one("child_deadlock")
        expect_eq("reason", ev["reason"], "no_waker")
        expect_eq("severity", ev["severity"], "warning")
        expect_eq("lock", int(ev["lock"], 16), lock)
        expect_eq("lock_type", ev.get("lock_type"), "semaphore")
        expect_eq("holder_tid (a semaphore has no owner)", ev["holder_tid"], 0)
        expect_eq("parent_pid", ev["parent_pid"], t.report.int("pid"))


PY_LOCK_FORK = r'''
import os, threading, time

def report(line):
    with open(os.environ["FT_REPORT"], "a") as f:
        f.write(line + "\n")

lock = threading.Lock()
held = threading.Event()

def worker():
    lock.acquire()
    report(f"worker_tid={threading.get_native_id()}")
    held.set()
    while True:
        time.sleep(3600)

threading.Thread(target=worker, daemon=True).start()
held.wait()
report(f"pid={os.getpid()}")
pid = os.fork()
if pid == 0:
    lock.acquire()
    os._exit(0)
report(f"child_pid={pid}")
os.waitpid(pid, 0)
'''


def test_no_waker_python_threading_lock():
    """CPython 3.11's threading.Lock is a sem_t: the child waits with op 0x189
    (WAIT_BITSET|PRIVATE|CLOCK_REALTIME) and the lock records no owner."""
    with running_python(PY_LOCK_FORK) as t:
        t.wait_report("child_pid")
        child = t.report.int("child_pid")
        wait_futex_wait(t, child, op=0x189)
        r = diagnose(child, "--json")
        r.expect_rc(0)
        ev = r.one("child_deadlock")
        expect_eq("reason", ev["reason"], "no_waker")
        expect_eq("severity", ev["severity"], "warning")
        # the semaphore is a threading.Lock's: said as the Python lock it is
        expect_eq("lock_type", ev.get("lock_type"), "py_lock")
        expect_eq("lock_object", ev.get("lock_object"), "threading.Lock")
        expect_eq("tid", ev["tid"], child)
        expect_eq("parent_pid", ev["parent_pid"], t.report.int("pid"))


# ---------------------------------------------------------------- no deadlock

def test_not_hung_process():
    """hold_mutex's parent: main waits for its child, the worker pauses holding
    the lock. Nothing waits on a futex: nothing to report."""
    with running("hold_mutex", "normal") as t:
        hung_child(t)
        parent = t.report.int("pid")
        harness.wait_until(lambda: (syscall_of(parent) or (0,))[0] == SYS_WAIT4, 10,
                           "the parent waiting for its child", alive=t.proc)
        r = diagnose(parent, "--json")
        r.expect_rc(0)
        expect_eq("events", r.events, [])
        expect_eq("stderr", r.stderr, "")


def test_contention_is_not_a_deadlock():
    """A thread blocked on a mutex whose owner is alive: not a deadlock."""
    with running("lock_contended") as t:
        t.wait_report("waiter_tid")
        waiter = t.report.int("waiter_tid")
        lock = int(t.report.get("lock"), 16)
        pid = t.report.int("pid")
        wait_futex_wait(t, pid, tid=waiter, lo=lock, hi=lock + MUTEX_SIZE)
        r = diagnose(pid, "--json")
        r.expect_rc(0)
        expect_eq("events", r.events, [])
        h = diagnose(pid)
        h.expect_rc(0)
        holder = t.report.int("holder_tid")
        expect(f"thread {holder} (lock_contended), is alive" in h.stdout,
               f"the explanation does not name the live owner {holder}:\n{h.stdout}")


# ---------------------------------------------------------------- failures

def test_missing_pid():
    pid = harness.vanished_pid()
    r = diagnose(pid, "--json")
    r.expect_one_line_error(1)
    expect(f"cannot read process {pid}" in r.stderr, f"unclear error: {r.stderr!r}")
