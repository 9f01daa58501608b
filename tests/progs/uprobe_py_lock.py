"""Trigger for --locks=uprobe: a thread holds a threading.Lock while the main
thread forks; the child then acquires it and blocks forever (the holder was
not copied). In CPython 3.11 the Lock is a malloc'd sem_t: acquire() is
sem_trywait (or sem_wait / sem_clockwait), release() sem_post.

The parent kills the child after $FT_HOLD_SECONDS seconds (default 3).
Reports: pid, holder (TID,COMM), holder_tid, lock (the sem_t's address, hex),
child, child_status.
"""
import ctypes
import os
import signal
import sys
import threading
import time

from ftlib import report, this_thread


def sem_address(lock):
    """The sem_t behind a CPython 3.11-3.13 _thread.lock: the pointer that
    follows PyObject_HEAD in lockobject (lock_lock)."""
    return ctypes.c_void_p.from_address(id(lock) + 2 * ctypes.sizeof(ctypes.c_void_p)).value


def main():
    lock = threading.Lock()
    held = threading.Event()
    stop = threading.Event()

    def holder():
        with lock:
            report(holder=this_thread(), holder_tid=threading.get_native_id())
            held.set()
            stop.wait()

    t = threading.Thread(target=holder, name="ft-pyholder", daemon=True)
    t.start()
    held.wait()
    report(pid=os.getpid(), lock=hex(sem_address(lock)))

    child = os.fork()
    if child == 0:
        lock.acquire()          # blocks forever
        os._exit(0)
    report(child=child)
    deadline = time.monotonic() + float(os.environ.get("FT_HOLD_SECONDS", "3"))
    while time.monotonic() < deadline:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid == child:
            break
        time.sleep(0.01)
    else:
        os.kill(child, signal.SIGKILL)
        pid, status = os.waitpid(child, 0)
    report(child_status=os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
           else 128 + os.WTERMSIG(status))
    stop.set()
    t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
