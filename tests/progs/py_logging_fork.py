"""The logging hang: a threading.Thread(name="chatter") logs through a
logging.FileHandler to DIR/app.log in a tight loop while the main thread
os.fork()s. Each child logs one line, flushes and os._exit(0)s; a child forked
while chatter held a lock the child needs blocks for ever in that lock's futex
wait (3.7+: the write lock of the BufferedWriter under the handler's stream,
which logging does not re-init in the child; 3.6: the handler's RLock).

    py_logging_fork.py DIR

The main thread forks until a child blocks: a child that exits is reaped and
reported as done_child; one seen in futex(2) (/proc/CHILD/syscall "202 ...")
for BLOCKED_FOR seconds is the blocked one. After MAX_ATTEMPTS forks without
one, it reports "caught=0" and exits 3 (could not catch chatter holding the
lock). With one, chatter stops logging but lives on, and the main thread waits
for SIGUSR1 (the test sends it once forktrace has reported; WAIT_SIGNAL seconds
at most, then exit 4), SIGKILLs the child, reaps it, ends chatter and exits 0.
Reports: pid, version (X.Y), log (the file's path), chatter (TID,COMM),
done_child (one per child that exited), child (the blocked one), attempts,
caught (1 or 0), child_status.
"""
import logging
import os
import signal
import sys
import threading
import time

from ftlib import report
from ftpy import this_thread

MAX_ATTEMPTS = 200
BLOCKED_FOR = 0.5     # seconds a child must stay in futex(2) to count as blocked
GIVE_UP = 5.0         # seconds after which a child that neither exits nor blocks is killed
WAIT_SIGNAL = 60.0
WARMUP_LINES = 100    # chatter is well into its loop before the first fork
FUTEX = "202"         # x86_64 system call number


def chat(log, lines, quiet, stop):
    report(chatter=this_thread())
    n = 0
    while not quiet.is_set():
        log.info("chatter line %d", n)
        n += 1
        lines.append(n)
    # alive, and quiet: the holder of the child's lock is still there to be named
    stop.wait()


def child_work(log, handler):
    log.info("child %d says hello", os.getpid())
    handler.flush()
    os._exit(0)


def in_futex(pid):
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split(" ", 1)[0] == FUTEX
    except OSError:
        return False


def blocked(pid):
    """True once child pid stays in futex(2) for BLOCKED_FOR seconds; False once
    it has exited (reaped) or GIVE_UP seconds went by (killed and reaped)."""
    start = time.monotonic()
    since = None
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
        now = time.monotonic()
        if in_futex(pid):
            since = now if since is None else since
            if now - since >= BLOCKED_FOR:
                return True
        else:
            since = None
        if now - start > GIVE_UP:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False
        time.sleep(0.01)


def main():
    path = os.path.join(sys.argv[1], "app.log")
    report(pid=os.getpid(), version="%d.%d" % sys.version_info[:2], log=path)
    # Blocked before any thread starts, so that every thread has it blocked and
    # sigtimedwait() below is the only taker.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    log = logging.getLogger("app")
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(path)
    log.addHandler(handler)
    lines, quiet, stop = [], threading.Event(), threading.Event()
    chatter = threading.Thread(target=chat, name="chatter", args=(log, lines, quiet, stop),
                               daemon=True)
    chatter.start()
    while len(lines) < WARMUP_LINES:
        time.sleep(0.001)
    child = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        pid = os.fork()
        if pid == 0:
            child_work(log, handler)
        if blocked(pid):
            child = pid
            break
        report(done_child=pid)
    quiet.set()
    report(attempts=attempt)
    if child is None:
        report(caught=0)
        sys.exit(3)
    report(child=child, caught=1)  # the test waits for "caught": child comes first
    got = signal.sigtimedwait({signal.SIGUSR1}, WAIT_SIGNAL)
    os.kill(child, signal.SIGKILL)
    report(child_status=os.waitpid(child, 0)[1])
    stop.set()
    chatter.join()
    handler.close()
    sys.exit(0 if got is not None else 4)


main()
