"""multiprocessing (start method 'fork'): the Process's target starts a
non-daemon threading.Thread(name="ticker"), works beside it for a while (the
ticker's first ten ticks: a worker lives longer than the instant it takes
forktrace to learn its threads' names), and returns while it still ticks.
The ticker ticks until the child's main thread is no longer alive: on 3.6
that never happens before multiprocessing os._exit()s the child, which kills
the ticker mid-tick; from 3.7 on the child's bootstrap runs
threading._shutdown(), which stops the main thread and then joins the ticker.
Reports: pid, process (the Process's pid), ticker (TID,COMM), ticker_done
(only when the ticker ended by itself), exitcode.
"""
import multiprocessing
import os
import threading
import time

from ftlib import report
from ftpy import this_thread

TICK = 0.005      # seconds between two looks at the main thread
WORK_TICKS = 10   # ticks the child works beside its ticker before it returns


def tick(main, running):
    report(ticker=this_thread())
    ticks = 0
    while main.is_alive():
        ticks += 1
        if ticks == WORK_TICKS:
            running.set()
        time.sleep(TICK)
    report(ticker_done=1)


def target():
    running = threading.Event()
    threading.Thread(target=tick, name="ticker",
                     args=(threading.current_thread(), running)).start()
    running.wait()
    report(process=os.getpid())


if __name__ == "__main__":
    report(pid=os.getpid())
    p = multiprocessing.get_context("fork").Process(target=target)
    p.start()
    p.join()
    report(exitcode=p.exitcode)
