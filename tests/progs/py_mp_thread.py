"""multiprocessing (start method 'fork'): the Process's target starts a thread,
waits until it runs, and leaves with os._exit(3) while the thread still runs.
Reports: pid, process (the Process's pid), thread (TID,COMM), exitcode."""
import multiprocessing
import os
import threading

from ftlib import report, this_thread


def target():
    running = threading.Event()

    def work():
        report(thread=this_thread())
        running.set()
        threading.Event().wait()          # runs until the process ends

    threading.Thread(target=work, name="ft-pyworker", daemon=True).start()
    running.wait()
    report(process=os.getpid())
    os._exit(3)


if __name__ == "__main__":
    report(pid=os.getpid())
    p = multiprocessing.get_context("fork").Process(target=target)
    p.start()
    p.join()
    report(exitcode=p.exitcode)
