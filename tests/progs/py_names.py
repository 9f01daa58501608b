"""Threads with known names, for the Python memory reader's tests.

ASCII, latin-1, UCS-2 and emoji names, one thread renamed after it started,
one asleep in a function of its own; $PY_NAMES_EXTRA more named "extra-N".
Reports to $FT_REPORT (runs on 3.6 too: no get_native_id there):
  thread=TID NAME       every thread, the main one included
  sleeper=TID FUNC LINE the sleeping thread, its function and line
  file=PATH             this file as its code objects name it
  ready=1               last, once every thread runs
"""
import ctypes
import os
import threading
import time

SYS_gettid = 186
libc = ctypes.CDLL(None, use_errno=True)
stop = threading.Event()
lock = threading.Lock()
started = []


def report(line):
    fd = os.open(os.environ["FT_REPORT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def note_started():
    with lock:
        started.append((threading.current_thread(), libc.syscall(SYS_gettid)))


def idle():
    note_started()
    stop.wait()


def sleep_here():
    note_started()
    time.sleep(3600)  # SLEEP-LINE


def sleep_line():
    with open(__file__, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + "SLEEP-LINE"):
                return n
    return 0


def main():
    names = ["alpha", "café-latin1", "γ-unicode", "emoji-🐍", "before-rename"]
    names += ["extra-%d" % i for i in range(int(os.environ.get("PY_NAMES_EXTRA", "0")))]
    threads = [threading.Thread(target=idle, name=n, daemon=True) for n in names]
    threads.append(threading.Thread(target=sleep_here, name="sleeper", daemon=True))
    for t in threads:
        t.start()
    threads[4].name = "renamed"
    while True:
        with lock:
            if len(started) == len(threads):
                break
        time.sleep(0.01)
    report("file=%s" % sleep_here.__code__.co_filename)
    report("thread=%d %s" % (os.getpid(), threading.current_thread().name))
    for t, tid in started:
        report("thread=%d %s" % (tid, t.name))
        if t.name == "sleeper":
            report("sleeper=%d sleep_here %d" % (tid, sleep_line()))
    report("ready=1")
    stop.wait()


main()
