"""fork+exit storm from a threaded Python parent: THREADS named threads wait on an
Event inside two nested Python functions, then the main thread forks N children one
after the other; each child os._exit(0)s at once and the parent waits for it.
With a GATE path, the program waits (threads up, pid reported) until that file
exists before the storm: a runner can attach `forktrace -p` first.
Appends key=value lines to REPORT (never writes to stdout, which it may share with
forktrace): pid, threads (once all are up), forks, elapsed_ns (the fork loop only),
cpu_ns (this process and its children).

usage: py_forkstorm.py REPORT N THREADS [GATE]
"""
import os
import sys
import threading
import time


def report(line):
    fd = os.open(REPORT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def wait_here(ev):
    ev.wait()


def serve(ev, started):
    started.release()
    wait_here(ev)


REPORT = sys.argv[1]
n, nthreads = int(sys.argv[2]), int(sys.argv[3])
gate = sys.argv[4] if len(sys.argv) > 4 else None
stop = threading.Event()
started = threading.Semaphore(0)
threads = [threading.Thread(target=serve, args=(stop, started), name=f"worker-{i:03d}",
                            daemon=True) for i in range(nthreads)]
for t in threads:
    t.start()
for _ in threads:
    started.acquire()
report(f"pid={os.getpid()}")
report(f"threads={nthreads}")
while gate and not os.path.exists(gate):
    time.sleep(0.005)

t0 = time.monotonic_ns()
done = 0
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    done += 1
t1 = time.monotonic_ns()

ru_self = os.times()
report(f"cpu_ns={int((ru_self.user + ru_self.system + ru_self.children_user + ru_self.children_system) * 1e9)}")
report(f"forks={done}")
report(f"elapsed_ns={t1 - t0}")
stop.set()
for t in threads:
    t.join()
