"""Shared by the Python-name triggers (import ftpy), beside ftlib; not a program.

What those triggers need on every interpreter from 3.6 on: the calling thread's
kernel tid (threading.get_native_id() exists only from 3.8), the Python frames
a thread is in at a marked call (so a test compares frames with lines found at
run time, never with numbers written in the test), a wait until a thread sits
in a system call, and the control pipe of a target started by the test.
"""
import inspect
import json
import os
import threading
import time
import warnings

# 3.12+ warns at os.fork() in a threaded process: forking there is the point.
warnings.simplefilter("ignore", DeprecationWarning)


def native_tid():
    """The calling thread's tid: /proc/thread-self names this thread, where
    /proc/self would name the process (its main thread) from any thread."""
    tid = int(os.readlink("/proc/thread-self").rsplit("/", 1)[1])
    if hasattr(threading, "get_native_id") and threading.get_native_id() != tid:
        raise RuntimeError(f"/proc/thread-self says {tid}, threading {threading.get_native_id()}")
    return tid


def this_thread():
    """"TID,COMM" of the calling thread, as ftlib.this_thread, on every version."""
    with open("/proc/thread-self/comm") as f:
        return f"{native_tid()},{f.read().strip()}"


def marked_line(func, marker):
    """The line of func's source that ends with the comment `# marker`."""
    lines, first = inspect.getsourcelines(func)
    hits = [first + i for i, text in enumerate(lines) if text.rstrip().endswith("# " + marker)]
    if len(hits) != 1:
        raise RuntimeError(f"{func.__name__}: {len(hits)} lines marked {marker!r}")
    return hits[0]


def python_stack(func, marker):
    """Called by func: the Python frames a reader of the interpreter must show
    while func is in the call on its line marked `# marker`, innermost first,
    as JSON [[name, qualname, file, line], ...] (3.6-3.10 code objects have no
    qualname: both are co_name there; file as the code object has it). The
    outer frames' lines are those of their calls in progress."""
    frame = inspect.currentframe().f_back
    if frame.f_code is not func.__code__:
        raise RuntimeError(f"python_stack({func.__name__}) called from {frame.f_code.co_name}")
    out = []
    while frame is not None:
        code = frame.f_code
        out.append([code.co_name, getattr(code, "co_qualname", code.co_name), code.co_filename,
                    frame.f_lineno])
        frame = frame.f_back
    out[0][3] = marked_line(func, marker)
    return json.dumps(out, separators=(",", ":"))


def wait_control():
    """One byte from the test on $FT_CONTROL_FD: True, or False at EOF."""
    return len(os.read(int(os.environ["FT_CONTROL_FD"]), 1)) == 1


def wait_in_syscall(tid, nr, poll=0.001):
    """Until thread tid of this process is blocked in system call nr (0 read,
    202 futex, ...), seen in /proc/self/task/TID/syscall: a frame read while
    it is there shows the call, not the Python that leads to it."""
    while True:
        with open(f"/proc/self/task/{tid}/syscall") as f:
            if f.read().split(" ", 1)[0] == str(nr):
                return
        time.sleep(poll)
