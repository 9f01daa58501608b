"""The processes the benchmark scripts start: how one is killed with everything it started."""
import os
import signal
import subprocess


def kill_group(p, timeout=10):
    """SIGKILL the process group of Popen p (started with start_new_session=True) and reap p.
    Once p is reaped its pid, and so its group id, may be another's: it is left alone then."""
    if p.returncode is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=timeout)
    except (subprocess.TimeoutExpired, ChildProcessError):
        pass
