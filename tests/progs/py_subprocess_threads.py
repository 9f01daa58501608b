"""subprocess runs /bin/true from a Python program with 2 running threads
(the fork+exec pattern, safe). Reports: pid, thread (TID,COMM) x2, child, child_status."""
import os
import subprocess
import threading

from ftlib import report, this_thread

stop = threading.Event()
running = threading.Barrier(3)


def idle():
    report(thread=this_thread())
    running.wait()
    stop.wait()


report(pid=os.getpid())
threads = [threading.Thread(target=idle, name=f"ft-idle-{i}") for i in range(2)]
for t in threads:
    t.start()
running.wait()
p = subprocess.Popen(["/bin/true"])      # what subprocess.run() does, keeping the pid
report(child=p.pid)
report(child_status=p.wait())
stop.set()
for t in threads:
    t.join()
