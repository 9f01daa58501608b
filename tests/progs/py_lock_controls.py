"""Forks that inherit no Python lock that can hurt, from a process full of
threads and locks (the controls of the Python lock scan):

  - a worker took and released a threading.Lock and an RLock before the fork;
  - concurrent.futures workers sit idle (their queue's waiters);
  - a logging thread has a handler (logging re-makes its lock in the child);
  - child A waits on a threading.Event until its parent's SIGUSR1, whose
    handler in A sets the event; A exits 0;
  - child B exec's /bin/true at once.

Reports: pid, version (X.Y), child_event, child_exec, event_status,
exec_status (each child's exit status), and "done=1" at the end.
"""
import concurrent.futures
import logging
import os
import signal
import sys
import threading
import time

from ftlib import report

FUTEX = "202"         # x86_64 system call number
WAIT_FOR = 10.0


def in_futex_for(pid, seconds):
    """True once pid stays in futex(2) for `seconds`."""
    since, deadline = None, time.monotonic() + WAIT_FOR
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/syscall") as f:
            now = time.monotonic()
            if f.read().split(" ", 1)[0] == FUTEX:
                since = now if since is None else since
                if now - since >= seconds:
                    return True
            else:
                since = None
        time.sleep(0.01)
    return False


def main():
    report(pid=os.getpid(), version="%d.%d" % sys.version_info[:2])
    lock, rlock = threading.Lock(), threading.RLock()
    done = threading.Event()

    def worker():
        with lock:
            pass
        with rlock:
            pass
        done.set()
        threading.Event().wait(30)   # alive at the forks, holding nothing

    threading.Thread(target=worker, name="worker", daemon=True).start()
    done.wait()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=3)
    list(pool.map(abs, range(-9, 0)))
    log = logging.getLogger("controls")
    log.addHandler(logging.StreamHandler(open(os.devnull, "w")))
    log.warning("ready")

    event = threading.Event()
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGUSR1, lambda *_: event.set())
        event.wait()
        os._exit(0)
    report(child_event=child)
    if not in_futex_for(child, 1.0):
        sys.exit(3)
    os.kill(child, signal.SIGUSR1)
    report(event_status=os.waitpid(child, 0)[1])

    child = os.fork()
    if child == 0:
        os.execv("/bin/true", ["true"])
    report(child_exec=child)
    report(exec_status=os.waitpid(child, 0)[1])
    pool.shutdown()
    report(done=1)


main()
