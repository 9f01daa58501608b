"""A fork that Python does not know of: the main thread calls libc's fork()
through ctypes (which lets go of the GIL around the call) while a thread named
"spinner" runs pure Python and takes the GIL as soon as it is free. A child
forked while the spinner held the GIL never gets it back: it hangs in the
interpreter when the call returns (nothing re-makes the GIL, as os.fork()
would). A child that got the GIL exits at once.

The main thread forks until a child hangs: one still alive HANG_AFTER seconds
after the fork is the hung one (reported, then SIGKILLed and reaped); one that
exited is reported as done_child. After MAX_ATTEMPTS forks without a hung one,
"caught=0" and exit 3.
Reports: pid, version (X.Y), spinner (TID,COMM), done_child (one per child
that exited), child (the hung one), attempts, caught (1 or 0).
"""
import ctypes
import os
import signal
import sys
import threading
import time

from ftlib import report
from ftpy import this_thread

MAX_ATTEMPTS = 1000
HANG_AFTER = 0.5


def spin(started, stop):
    report(spinner=this_thread())
    started.set()
    n = 0
    while not stop.is_set():
        n += 1


def reaped_within(pid, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
        time.sleep(0.01)
    return False


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    report(pid=os.getpid(), version="%d.%d" % sys.version_info[:2])
    started, stop = threading.Event(), threading.Event()
    spinner = threading.Thread(target=spin, name="spinner", args=(started, stop), daemon=True)
    spinner.start()
    started.wait()
    child = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        pid = libc.fork()
        if pid == 0:
            os._exit(0)  # only a child that got the GIL back gets here
        if pid < 0:
            sys.exit("fork: errno %d" % ctypes.get_errno())
        if not reaped_within(pid, HANG_AFTER):
            child = pid
            break
        report(done_child=pid)
    report(attempts=attempt)
    if child is None:
        report(caught=0)
        stop.set()
        sys.exit(3)
    report(child=child)
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    report(caught=1)
    stop.set()
    spinner.join()


main()
