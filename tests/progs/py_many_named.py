"""200 threads named "w000".."w199" (small stacks: the child's scan reads its
writable memory), each asleep in os.read() on one pipe, when the main thread
os.fork()s (the child os._exit(0)s, waited for); then one byte each wakes them
and they are joined.
Reports: pid, worker (TID,COMM,NAME) x200, child, child_status.
"""
import os
import threading

from ftlib import report
from ftpy import native_tid, this_thread, wait_in_syscall

COUNT = 200
READ = 0    # x86_64 system call number


def wait_for_wake(wake_r, tids, started):
    report(worker=f"{this_thread()},{threading.current_thread().name}")
    tids.append(native_tid())
    started.wait()
    os.read(wake_r, 1)


report(pid=os.getpid())
threading.stack_size(256 * 1024)
wake_r, wake_w = os.pipe()
tids, started = [], threading.Barrier(COUNT + 1)
workers = [threading.Thread(target=wait_for_wake, name=f"w{i:03d}", args=(wake_r, tids, started))
           for i in range(COUNT)]
for t in workers:
    t.start()
started.wait()
for tid in tids:
    wait_in_syscall(tid, READ)
child = os.fork()
if child == 0:
    os._exit(0)
report(child=child)
report(child_status=os.waitpid(child, 0)[1])
os.write(wake_w, b"x" * COUNT)
for t in workers:
    t.join()
