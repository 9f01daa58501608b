"""The Python twin of hostile_tids.c: tables that read as held locks and hold none.

    py_hostile_tids.py [MIB]

Four threads block in os.read() on a pipe. The main thread fills MIB (default
128) MiB of array('i') tables with small ints (mostly 0, else 1..3) and the
process's own native thread ids, one word in 512 (the first 4 KiB of each
table hold none); a 1 MiB block of them is repeated to fill a table. Then it
forks; the child waits for SIGUSR1 (sigwait, not a futex) and _exits; the
parent waits for it and stops the threads.

Reports: pid, main, thread (TID,COMM) x4, tids, table_bytes, child, child_status.
"""
import os
import random
import signal
import sys
import threading
from array import array

import ftlib

NTHREADS = 4
TID_EVERY = 512
BLOCK_WORDS = 1 << 18          # 1 MiB of int32
NTABLES = 4


def worker(i, started, stop_r):
    threading.current_thread().name = f"ft-idle-{i}"
    with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as f:
        f.write(f"ft-idle-{i}")
    ftlib.report(thread=ftlib.this_thread())
    started.release()
    os.read(stop_r, 1)


def block(tids, rng):
    """One 1 MiB block: mostly 0, else 1..3, a tid one word in TID_EVERY."""
    words = rng.choices((0, 0, 0, 0, 0, 1, 2, 3), k=BLOCK_WORDS)
    for i in range(0, BLOCK_WORDS, TID_EVERY):
        words[i + rng.randrange(TID_EVERY)] = rng.choice(tids)
    return array("i", words)


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    ftlib.report(pid=os.getpid(), main=ftlib.this_thread())
    stop_r, stop_w = os.pipe()
    started = threading.Semaphore(0)
    threads = [threading.Thread(target=worker, args=(i, started, stop_r)) for i in range(NTHREADS)]
    for t in threads:
        t.start()
    for _ in threads:
        started.acquire()
    tids = [threading.get_native_id()] + [t.native_id for t in threads]
    rng = random.Random(14)
    per_table = max(1, mib // NTABLES)
    tables = []
    ntids = 0
    for _ in range(NTABLES):
        head = array("i", bytes(4096))                       # no tid in the first 4 KiB
        b = block(tids, rng)
        t = head + b[len(head):] + b * (per_table - 1)
        ntids += sum(1 for w in b if w > 3) * per_table
        tables.append(t)
    ftlib.report(tids=ntids, table_bytes=sum(len(t) * t.itemsize for t in tables))
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    child = os.fork()
    if child == 0:
        signal.sigwait({signal.SIGUSR1})
        os._exit(0)
    ftlib.report(child=child)
    _, status = os.waitpid(child, 0)
    ftlib.report(child_status=os.waitstatus_to_exitcode(status))
    os.close(stop_w)
    for t in threads:
        t.join()


main()
