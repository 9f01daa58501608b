"""The logging hang, standard library only: a thread named "chatter" logs
through a logging.FileHandler while the main thread forks. logging re-makes
its handler locks in the child, but not the internal lock of the
BufferedWriter under the handler's stream: a child forked while chatter was
inside that write blocks for ever in its first log call's flush.

The main thread forks until one child hangs (most do not: chatter must be in
the write at the instant of the fork). An alarm ends the hung child after 3
seconds so that the example ends on its own; a real child waits forever.

    sudo forktrace -- python3 examples/logging_hang.py
"""
import logging
import os
import signal
import sys
import tempfile
import threading
import time


def chat(log, stop):
    n = 0
    while not stop.is_set():
        log.info("chatter line %d", n)
        n += 1


def main():
    path = os.path.join(tempfile.mkdtemp(), "app.log")
    log = logging.getLogger("app")
    log.setLevel(logging.INFO)
    log.addHandler(logging.FileHandler(path))
    stop = threading.Event()
    chatter = threading.Thread(target=chat, name="chatter", args=(log, stop))
    chatter.start()
    for attempt in range(1, 201):
        pid = os.fork()
        if pid == 0:
            signal.alarm(3)            # the default action ends the process
            log.info("child %d says hello", os.getpid())
            os._exit(0)
        start = time.monotonic()
        _, status = os.waitpid(pid, 0)
        if time.monotonic() - start > 2:
            print("child %d hung in logging until its alarm (fork %d of %d)"
                  % (pid, attempt, 200), file=sys.stderr)
            break
    stop.set()
    chatter.join()


if __name__ == "__main__":
    main()
