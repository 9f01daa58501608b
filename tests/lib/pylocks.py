"""Shared by the Python lock tests: the py_held_at_fork scenario and its reports."""
import os
import signal

from harness import expect_eq, prog, start_forktrace


def tid_of(thread_line):
    """A report's "TID,COMM" -> TID."""
    return int(thread_line.split(",", 1)[0])


def wait_child_deadlock(ft, child, timeout_s):
    """forktrace's child_deadlock for child, waited for while the trigger runs."""
    return ft.wait_for("child_deadlock", pid=child, timeout=timeout_s)


def deadlock_then_release(ft, child):
    """forktrace's child_deadlock for child, then the trigger's cue (SIGUSR1) to kill the child
    and end; forktrace and the trigger both end well -> (child_deadlock, Result)"""
    try:
        dl = wait_child_deadlock(ft, child, 15)
    finally:
        os.kill(ft.report.int("pid"), signal.SIGUSR1)     # the trigger's cue to kill the child
    r = ft.finish()
    r.expect_rc(0)
    expect_eq("the child's status", r.report.int("child_status"), signal.SIGKILL)
    expect_eq("child_deadlock.tid", dl["tid"], child)
    return dl, r


def held_lock_child(version, kind):
    """py_held_at_fork KIND under forktrace -> (child_deadlock of the child, Result)"""
    ft = start_forktrace(["--json", "--", *prog("py_held_at_fork", kind, python_version=version)])
    ft.report.wait("blocked", alive=ft.proc)
    dl, r = deadlock_then_release(ft, ft.report.int("child"))
    if version is not None:
        expect_eq("the trigger's version", r.report.get("version"), version)
    return dl, r
