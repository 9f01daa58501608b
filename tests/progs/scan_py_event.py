"""A single-threaded parent forks; the child waits (no timeout) on a
threading.Event that its SIGTERM handler sets, then os._exit(0)s. The parent
waits for it and exits 0.

Reports: pid, child, child_waiting (1, the handler is installed),
child_woken (1), child_status.
"""
import os
import signal
import threading

from ftlib import report

report(pid=os.getpid())
child = os.fork()
if child == 0:
    woken = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: woken.set())
    report(child_waiting=1)
    woken.wait()
    report(child_woken=1)
    os._exit(0)
report(child=child)
report(child_status=os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
