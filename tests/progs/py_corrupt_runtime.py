"""Breaks its own interpreter's layout for an outside reader: zeroes
`_PyRuntime.interpreters.head` (offset 0x28 on CPython 3.11 and 3.12, checked
here against PyInterpreterState_Head() before the write), the root from which
a reader walks to the thread states. The interpreter itself keeps working
without it (each thread reaches its interpreter through its own thread
state). Then it starts threads "alpha" and "beta", each asleep in os.read(),
and forks FORKS times with libc's fork() called without releasing the GIL
(os.fork()'s after-fork code in the child walks the head and would abort):
each child os._exit(0)s at once, and is waited for. It runs on broken for
half a second; then the head is put back before the threads are woken,
joined and the program exits 0.
Reports: pid, version, head (the original pointer, hex), thread (TID,COMM) x2,
child x FORKS, child_status x FORKS; or unsupported=REASON and exit 2.
"""
import ctypes
import os
import sys
import threading
import time

from ftlib import report
from ftpy import native_tid, this_thread, wait_in_syscall

FORKS = 3
RUNS_ON = 0.5   # seconds it runs on, broken, after its forks
HEAD_OFFSET = {(3, 11): 0x28, (3, 12): 0x28}
READ = 0    # x86_64 system call number


def wait_for_wake(wake_r, tids, started):
    report(thread=this_thread())
    tids.append(native_tid())
    started.wait()
    os.read(wake_r, 1)


def main():
    version = sys.version_info[:2]
    report(pid=os.getpid(), version="%d.%d" % version)
    if version not in HEAD_OFFSET:
        report(unsupported=f"no known interpreters.head offset for {version}")
        return 2
    api = ctypes.pythonapi
    api.PyInterpreterState_Head.restype = ctypes.c_void_p
    runtime = ctypes.c_void_p.in_dll(api, "_PyRuntime")
    slot = ctypes.c_void_p.from_address(ctypes.addressof(runtime) + HEAD_OFFSET[version])
    original = api.PyInterpreterState_Head()
    if not original or slot.value != original:
        report(unsupported=f"_PyRuntime+{HEAD_OFFSET[version]:#x} is {slot.value}, "
                           f"not the head {original}")
        return 2
    report(head=hex(original))
    slot.value = None

    libc = ctypes.PyDLL(None)       # PyDLL: the GIL stays held across fork()
    libc.fork.restype = ctypes.c_int
    wake_r, wake_w = os.pipe()
    tids, started = [], threading.Barrier(3)
    workers = [threading.Thread(target=wait_for_wake, name=name, args=(wake_r, tids, started))
               for name in ("alpha", "beta")]
    for t in workers:
        t.start()
    started.wait()
    for tid in tids:
        wait_in_syscall(tid, READ)
    for _ in range(FORKS):
        child = libc.fork()
        if child == 0:
            os._exit(0)
        report(child=child)
        report(child_status=os.waitpid(child, 0)[1])
    # a broken process runs on: forktrace tells a broken layout from an
    # interpreter that is ending by the process still being there a moment later
    time.sleep(RUNS_ON)
    slot.value = original
    os.write(wake_w, b"x" * len(workers))
    for t in workers:
        t.join()
    return 0


sys.exit(main())
