"""A pre-forking server in the style of gunicorn --preload, standard library only.

The master opens a listening socket, starts a heartbeat thread ("ft-heartbeat")
and forks WORKERS (default 3) workers with os.fork(); each worker loops
waiting for connections on the inherited socket (select with a timeout, as
gunicorn's sync worker does). When a worker dies, the master reports it and
forks a replacement. Started before forktrace, for -p MASTER: the master
reports ready=1 once every first worker has told it (over a pipe) that it
runs its loop. It runs until the test kills its process group.

Reports: pid, thread (TID,COMM of the heartbeat), worker=PID for each first
worker, ready, died=PID,STATUS (STATUS: 128+signal or the exit code) for each
worker that died, reforked=PID for each replacement.
"""
import os
import select
import socket
import sys
import threading

from ftlib import report, this_thread

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def heartbeat(started):
    report(thread=this_thread())
    started.set()
    threading.Event().wait()          # runs until the process ends


def worker(sock, running_fd):
    os.write(running_fd, b"w")
    os.close(running_fd)
    while True:
        readable, _, _ = select.select([sock], [], [], 0.5)
        if readable:
            try:
                conn, _ = sock.accept()
                conn.close()
            except BlockingIOError:
                pass


def spawn(sock, running_fd):
    pid = os.fork()
    if pid == 0:
        try:
            worker(sock, running_fd)
        finally:
            os._exit(1)
    return pid


def status_of(status):
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def main():
    report(pid=os.getpid())
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    started = threading.Event()
    threading.Thread(target=heartbeat, args=(started,), name="ft-heartbeat", daemon=True).start()
    started.wait()
    r, w = os.pipe()
    workers = set()
    for _ in range(WORKERS):
        pid = spawn(sock, w)
        workers.add(pid)
        report(worker=pid)
    for _ in range(WORKERS):
        os.read(r, 1)
    report(ready=1)
    while True:
        pid, status = os.wait()
        if pid not in workers:
            continue
        workers.discard(pid)
        report(died=f"{pid},{status_of(status)}")
        pid = spawn(sock, w)
        workers.add(pid)
        report(reforked=pid)


if __name__ == "__main__":
    main()
