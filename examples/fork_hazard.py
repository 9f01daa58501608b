"""A small program with the classic fork hazard, for `sudo make run`.

A worker thread holds a lock (think: a logging handler or a connection
pool) while the main thread calls os.fork(). The child is born with the
lock held by a thread that does not exist in it, and blocks on it. Here an
alarm interrupts the child after 3 seconds so that the example ends on its
own; a real child waits forever.
"""
import os
import signal
import sys
import threading

lock = threading.Lock()
holding = threading.Event()
release = threading.Event()


def worker():
    with lock:
        holding.set()
        release.wait()


def give_up(signum, frame):
    print("child %d: stuck for 3 s on a lock whose holder does not exist here; "
          "giving up (a real child would hang forever)" % os.getpid(), file=sys.stderr)
    os._exit(1)


def main():
    t = threading.Thread(target=worker, name="pool-worker")
    t.start()
    holding.wait()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGALRM, give_up)
        signal.alarm(3)
        lock.acquire()
        os._exit(0)
    release.set()
    t.join()
    _, status = os.waitpid(pid, 0)
    print("parent: child exited with status %d" % os.waitstatus_to_exitcode(status),
          file=sys.stderr)


if __name__ == "__main__":
    main()
