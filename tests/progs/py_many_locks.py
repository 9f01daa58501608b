"""Precision of the Python lock scan over a big heap: COUNT threading.Lock
objects, every STRIDE-th one held by the main thread; FREED more were taken
and then freed while held (CPython releases a Lock it frees: none of those is
locked any more, and their memory is reused or free); a thread named "idle"
waits on an Event so that the fork is a threaded one. The main thread forks;
the child waits in read(2) on a pipe until the parent gets SIGUSR1 (the test
sends it once forktrace has scanned the child; WAIT_SIGNAL seconds at most,
then exit 4), then exits; the parent reaps it and exits 0.

Reports: pid, version (X.Y), held (the sem_t addresses of the held Locks, hex,
comma-separated), freed (those of the freed ones), child.
"""
import ctypes
import os
import signal
import sys
import threading

from ftlib import report

COUNT = 100000
STRIDE = 300
FREED = 5000
WAIT_SIGNAL = 60.0


def sem_of(lock):
    # lockobject: PyObject_HEAD (16 bytes), then the PyThread_type_lock (the sem_t *)
    return ctypes.c_void_p.from_address(id(lock) + 16).value


def main():
    report(pid=os.getpid(), version="%d.%d" % sys.version_info[:2])
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    locks = [threading.Lock() for _ in range(COUNT)]
    held = locks[::STRIDE]
    for lock in held:
        lock.acquire()
    doomed = [threading.Lock() for _ in range(FREED)]
    for lock in doomed:
        lock.acquire()
    freed = [sem_of(lock) for lock in doomed]
    del doomed, lock
    stop = threading.Event()
    idle = threading.Thread(target=stop.wait, name="idle", daemon=True)
    idle.start()
    report(held=",".join(hex(sem_of(l)) for l in held), freed=",".join(hex(a) for a in freed))
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
    report(child=child)
    got = signal.sigtimedwait({signal.SIGUSR1}, WAIT_SIGNAL)
    os.close(w)
    os.waitpid(child, 0)
    stop.set()
    idle.join()
    sys.exit(0 if got is not None else 4)


main()
