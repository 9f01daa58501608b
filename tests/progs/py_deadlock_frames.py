"""A thread holds a threading.Lock while the main thread os.fork()s; the
child calls take_lock(), whose lock.acquire() (the marked line) blocks
forever: the holder was not copied. The parent waits for SIGUSR1 (the test
sends it once forktrace has reported the deadlock), then SIGKILLs the child,
reaps it and exits 0.
Reports: pid, holder (TID,COMM), acquire_stack (ftpy.python_stack at the
child's acquire, reported by the child), child, child_status.
"""
import os
import signal
import threading

from ftlib import report
from ftpy import python_stack, this_thread


def take_lock(lock):
    report(acquire_stack=python_stack(take_lock, "ft:acquire"))
    lock.acquire()  # ft:acquire
    os._exit(1)     # never


def hold(lock, holding, release):
    with lock:
        report(holder=this_thread())
        holding.set()
        release.wait()


report(pid=os.getpid())
# Blocked before any thread starts, so that every thread has it blocked and
# sigwait() below is the only taker.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
lock, holding, release = threading.Lock(), threading.Event(), threading.Event()
holder = threading.Thread(target=hold, name="holder", args=(lock, holding, release), daemon=True)
holder.start()
holding.wait()
child = os.fork()
if child == 0:
    take_lock(lock)
report(child=child)
signal.sigwait({signal.SIGUSR1})
os.kill(child, signal.SIGKILL)
report(child_status=os.waitpid(child, 0)[1])
release.set()
holder.join()
