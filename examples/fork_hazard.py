"""A small program with the classic fork hazard, for `sudo make run`.

A worker thread holds a lock (think: a logging handler or a connection
pool) while the main thread calls os.fork(). The child is born with the
lock held by a thread that does not exist in it. The child here gives up
after a timeout so that the example ends on its own; a real child waits
forever.
"""
import os
import sys
import threading

lock = threading.Lock()
holding = threading.Event()
release = threading.Event()


def worker():
    with lock:
        holding.set()
        release.wait()


def main():
    t = threading.Thread(target=worker, name="pool-worker")
    t.start()
    holding.wait()
    pid = os.fork()
    if pid == 0:
        got = lock.acquire(timeout=2)
        print("child %d: %s" % (os.getpid(),
              "got the lock" if got else
              "the lock is held by a thread that does not exist here: "
              "without a timeout this child would hang forever"),
              file=sys.stderr)
        os._exit(0 if got else 1)
    release.set()
    t.join()
    _, status = os.waitpid(pid, 0)
    print("parent: child exited with status %d" % os.waitstatus_to_exitcode(status),
          file=sys.stderr)


if __name__ == "__main__":
    main()
