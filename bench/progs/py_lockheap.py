"""A Python process with a big heap for the Python lock scan's benchmark:
MIB MiB of touched bytearrays, 100,000 threading.Lock objects (every 300th
held) and a thread waiting on an Event, so that its fork is a threaded one.
The main thread forks; the child waits in read(2) until RELEASE exists (the
benchmark creates it once forktrace has scanned the child), then exits.

    py_lockheap.py REPORT MIB RELEASE
Reports: pid, child.
"""
import os
import sys
import threading
import time


def report(path, **kv):
    with open(path, "a") as f:
        for k, v in kv.items():
            f.write(f"{k}={v}\n")


def main():
    path, mib, release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    heap = [bytearray(b"\x01" * (1 << 20)) for _ in range(mib)]
    locks = [threading.Lock() for _ in range(100000)]
    for lock in locks[::300]:
        lock.acquire()
    stop = threading.Event()
    idle = threading.Thread(target=stop.wait, name="idle", daemon=True)
    idle.start()
    report(path, pid=os.getpid())
    child = os.fork()
    if child == 0:
        while not os.path.exists(release):
            time.sleep(0.01)   # the child must live until it was scanned: no lock, no futex
        os._exit(0)
    report(path, child=child)
    os.waitpid(child, 0)
    stop.set()
    idle.join()
    del heap


main()
