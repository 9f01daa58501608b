"""os.fork() from a daemon threading.Thread(name="forker"), in fork_from_here
at the marked line; the child os._exit(0)s and is waited for. The main thread
sleeps in os.read() meanwhile (an orphan with a frame of its own) until the
forker is done; the forker forks only once the main thread is in that read,
so that what the main thread runs at the instant of the fork is known.
Reports: pid, forker (TID,COMM), fork_stack (ftpy.python_stack at the os.fork
call), child, child_status.
"""
import os
import threading
import time

from ftlib import report
from ftpy import native_tid, python_stack, this_thread, wait_in_syscall

READ = 0              # x86_64 system call number

LIVES_ON = 0.5   # seconds the forker lives on after the fork


def fork_from_here(done_w, main_tid):
    report(forker=this_thread(), fork_stack=python_stack(fork_from_here, "ft:fork"))
    wait_in_syscall(main_tid, READ)
    child = os.fork()  # ft:fork
    if child == 0:
        os._exit(0)
    report(child=child)
    report(child_status=os.waitpid(child, 0)[1])
    # the forker works on before it ends: a thread that forked lives on after
    # the fork far longer than the moment forktrace takes to read its name
    time.sleep(LIVES_ON)
    os.write(done_w, b"x")


report(pid=os.getpid())
done_r, done_w = os.pipe()
t = threading.Thread(target=fork_from_here, name="forker", args=(done_w, native_tid()),
                     daemon=True)
t.start()
os.read(done_r, 1)
t.join()
