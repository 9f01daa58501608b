"""A threading.Thread(name="original") is renamed `t.name = "renamed"` after
it started (Python only: the kernel's comm does not change); then the main
thread os.fork()s (the child os._exit(0)s, waited for), wakes it and joins it.
Reports: pid, renamed (TID,COMM), child, child_status.
"""
import os
import threading
import time

from ftlib import report
from ftpy import native_tid, wait_in_syscall

READ = 0    # x86_64 system call number
LIVES_ON = 0.5   # seconds the worker lives on after the fork


def wait_for_wake(wake_r, tid, running):
    tid.append(native_tid())
    running.set()
    os.read(wake_r, 1)


report(pid=os.getpid())
wake_r, wake_w = os.pipe()
tid, running = [], threading.Event()
t = threading.Thread(target=wait_for_wake, name="original", args=(wake_r, tid, running))
t.start()
running.wait()
t.name = "renamed"
wait_in_syscall(tid[0], READ)
with open(f"/proc/self/task/{tid[0]}/comm") as f:
    report(renamed=f"{tid[0]},{f.read().strip()}")
child = os.fork()
if child == 0:
    os._exit(0)
report(child=child)
report(child_status=os.waitpid(child, 0)[1])
# the program works on before it wakes its worker: a thread orphaned by a fork
# outlives the fork by far more than the moment forktrace takes to read it
time.sleep(LIVES_ON)
os.write(wake_w, b"x")
t.join()
