"""Started before forktrace, for `-p`: a threading.Thread(name="sleeper")
sleeps in os.read() (a C call: the innermost Python frame is sleep_until_told,
at the marked line); once its tid is in read(2), "ready=1". On the first byte
of $FT_CONTROL_FD the main thread os.fork()s once (the child os._exit(0)s,
waited for) and reports "forked=1"; at EOF it wakes the sleeper, joins it and
exits 0.
Reports: pid, version (X.Y), main (TID,COMM), sleeper (TID,COMM), sleeper_stack
(ftpy.python_stack at its os.read), ready, child, child_status, forked.
"""
import os
import sys
import threading

from ftlib import report
from ftpy import native_tid, python_stack, this_thread, wait_control, wait_in_syscall

READ = 0    # x86_64 system call number


def sleep_until_told(wake_fd, asleep, tid):
    report(sleeper=this_thread(), sleeper_stack=python_stack(sleep_until_told, "ft:sleep"))
    tid.append(native_tid())
    asleep.set()
    os.read(wake_fd, 1)  # ft:sleep


def main():
    report(pid=os.getpid(), version="%d.%d" % sys.version_info[:2], main=this_thread())
    wake_r, wake_w = os.pipe()
    asleep, tid = threading.Event(), []
    sleeper = threading.Thread(target=sleep_until_told, name="sleeper", args=(wake_r, asleep, tid))
    sleeper.start()
    asleep.wait()
    wait_in_syscall(tid[0], READ)
    report(ready=1)
    if wait_control():
        child = os.fork()
        if child == 0:
            os._exit(0)
        report(child=child)
        report(child_status=os.waitpid(child, 0)[1])
        report(forked=1)
        wait_control()
    os.write(wake_w, b"x")
    sleeper.join()


main()
