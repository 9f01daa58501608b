"""A thread holds a threading.Lock while the main thread os.fork()s; the child
calls lock.acquire() with no timeout and hangs forever (the holder was not
copied, and a sem_t records no owner). The parent waits for the child forever:
the trigger is its own process group (pgid) so that a test can kill all of it.

Reports: pid, pgid, thread (TID,COMM of the holder, named "ft-pyholder"),
holder_tid, lock (hex address of the sem_t inside the Lock: CPython 3.11+),
child, child_block_time (CLOCK_REALTIME ns just before the child's acquire).
"""
import ctypes
import os
import threading
import time

from ftlib import report, this_thread

PR_SET_NAME = 15

os.setpgid(0, 0)
report(pid=os.getpid(), pgid=os.getpgid(0))
lock = threading.Lock()
# lockobject: PyObject_HEAD (16 bytes), then PyThread_type_lock (the sem_t *)
report(lock=hex(ctypes.c_void_p.from_address(id(lock) + 16).value))
holding = threading.Event()
stop = threading.Event()


def holder():
    ctypes.CDLL(None).prctl(PR_SET_NAME, b"ft-pyholder", 0, 0, 0)
    lock.acquire()
    report(thread=this_thread(), holder_tid=threading.get_native_id())
    holding.set()
    stop.wait()


threading.Thread(target=holder, daemon=True).start()
holding.wait()
child = os.fork()
if child == 0:
    report(child_block_time=time.time_ns())
    lock.acquire()
    report(child_took_lock=1)   # never
    os._exit(1)
report(child=child)
os.waitpid(child, 0)
