"""multiprocessing (start method 'fork'): the Process's target starts a
non-daemon threading.Thread(name="ticker") and returns while it still ticks.
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


def tick(main, running):
    report(ticker=this_thread())
    running.set()
    while main.is_alive():
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
