"""Started before forktrace, for `-p`, with no thread but the main one:
"ready=1". On the first byte of $FT_CONTROL_FD (after the attach) it starts
threading.Thread(name="late"), and once that thread sleeps in read(2),
os.fork()s (the child os._exit(0)s, waited for) and reports "forked=1"; at EOF
it wakes the thread, joins it and exits 0.
Reports: pid, ready, late (TID,COMM), child, child_status, forked.
"""
import os
import threading

from ftlib import report
from ftpy import native_tid, this_thread, wait_control, wait_in_syscall

READ = 0    # x86_64 system call number


def wait_for_wake(wake_r, tid, running):
    report(late=this_thread())
    tid.append(native_tid())
    running.set()
    os.read(wake_r, 1)


report(pid=os.getpid(), ready=1)
if wait_control():
    wake_r, wake_w = os.pipe()
    tid, running = [], threading.Event()
    t = threading.Thread(target=wait_for_wake, name="late", args=(wake_r, tid, running))
    t.start()
    running.wait()
    wait_in_syscall(tid[0], READ)
    child = os.fork()
    if child == 0:
        os._exit(0)
    report(child=child)
    report(child_status=os.waitpid(child, 0)[1])
    report(forked=1)
    wait_control()
    os.write(wake_w, b"x")
    t.join()
