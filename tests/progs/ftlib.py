"""Shared by the Python trigger programs (import ftlib); not a program itself.

Triggers never write to stdout: under `forktrace -- COMMAND` it is forktrace's.
They report what they know as key=value lines appended to the file named by
$FT_REPORT, each line with a single write(2).
"""
import os
import threading


def report(**facts):
    path = os.environ["FT_REPORT"]
    for key, value in facts.items():
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, f"{key}={value}\n".encode())
        finally:
            os.close(fd)


def this_thread():
    """"TID,COMM" of the calling thread, its name as the kernel has it."""
    tid = threading.get_native_id()
    with open(f"/proc/self/task/{tid}/comm") as f:
        return f"{tid},{f.read().strip()}"
