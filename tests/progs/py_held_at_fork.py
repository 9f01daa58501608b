"""A threading.Thread(name="holder") holds a lock while the main thread
os.fork()s; the child calls take_lock(), whose lock.acquire() (the marked
line) blocks for ever: the holder was not copied.

    py_held_at_fork.py rlock   a threading.RLock, held in `with` (its owner is
                               recorded in the object)
    py_held_at_fork.py lock    a threading.Lock, taken with acquire() and no
                               `with` (nothing records who holds it)
    py_held_at_fork.py queue   a queue.Queue whose mutex the holder (a producer in
                               the middle of put()) holds; the child's put() blocks

Once the child is in futex(2) (/proc/CHILD/syscall "202 ..."), "blocked=1".
The parent waits for SIGUSR1 (the test sends it once forktrace has reported;
WAIT_SIGNAL seconds at most, then exit 4), SIGKILLs the child, reaps it, lets
the holder release and exits 0. A child that exits or is not blocked within
BLOCK_WITHIN seconds: exit 3.
Reports: pid, version (X.Y), holder (TID,COMM), acquire_stack
(ftpy.python_stack at the child's acquire, reported by the child), child,
blocked, child_status.
"""
import os
import queue
import signal
import sys
import threading
import time

from ftlib import report
from ftpy import python_stack, this_thread

WAIT_SIGNAL = 60.0
BLOCK_WITHIN = 10.0
FUTEX = "202"         # x86_64 system call number


def take_lock(lock):
    report(acquire_stack=python_stack(take_lock, "ft:acquire"))
    lock.acquire()  # ft:acquire
    os._exit(1)     # never


def put_one(q):
    q.put(1)        # blocks in q.mutex, which the producer held
    os._exit(1)     # never


def hold_queue(q, holding, release):
    with q.mutex:   # as a producer does inside put(), between the append and the notify
        report(holder=this_thread())
        holding.set()
        release.wait()


def hold_with(lock, holding, release):
    with lock:
        report(holder=this_thread())
        holding.set()
        release.wait()


def hold_acquired(lock, holding, release):
    lock.acquire()
    report(holder=this_thread())
    holding.set()
    release.wait()
    lock.release()


def wait_blocked(child):
    """True once child is in futex(2); False once it exited (reaped) or
    BLOCK_WITHIN seconds went by (killed and reaped)."""
    deadline = time.monotonic() + BLOCK_WITHIN
    while time.monotonic() < deadline:
        if os.waitpid(child, os.WNOHANG)[0] == child:
            return False
        with open(f"/proc/{child}/syscall") as f:
            if f.read().split(" ", 1)[0] == FUTEX:
                return True
        time.sleep(0.01)
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    return False


def main():
    kinds = {"rlock": (threading.RLock, hold_with, take_lock),
             "lock": (threading.Lock, hold_acquired, take_lock),
             "queue": (queue.Queue, hold_queue, put_one)}
    if len(sys.argv) != 2 or sys.argv[1] not in kinds:
        sys.exit("usage: py_held_at_fork.py rlock|lock|queue")
    make_lock, hold, take = kinds[sys.argv[1]]
    report(pid=os.getpid(), version="%d.%d" % sys.version_info[:2])
    # Blocked before any thread starts, so that every thread has it blocked and
    # sigtimedwait() below is the only taker.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    lock, holding, release = make_lock(), threading.Event(), threading.Event()
    holder = threading.Thread(target=hold, name="holder", args=(lock, holding, release),
                              daemon=True)
    holder.start()
    holding.wait()
    child = os.fork()
    if child == 0:
        take(lock)
    report(child=child)
    if not wait_blocked(child):
        sys.exit(3)
    report(blocked=1)
    got = signal.sigtimedwait({signal.SIGUSR1}, WAIT_SIGNAL)
    os.kill(child, signal.SIGKILL)
    report(child_status=os.waitpid(child, 0)[1])
    release.set()
    holder.join()
    sys.exit(0 if got is not None else 4)


main()
