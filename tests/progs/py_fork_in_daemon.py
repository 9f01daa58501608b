"""os.fork() from a daemon thread; the child os._exit(0)s.
Reports: pid, forker (the thread's native id), child, child_status."""
import os
import threading

from ftlib import report


def forker():
    report(forker=threading.get_native_id())
    child = os.fork()
    if child == 0:
        os._exit(0)
    report(child=child)
    report(child_status=os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))


report(pid=os.getpid())
t = threading.Thread(target=forker, name="ft-daemon", daemon=True)
t.start()
t.join()
