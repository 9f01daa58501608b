"""Python programs: forks from threads, multiprocessing, subprocess."""
from harness import expect_eq, threads_of, trace


def fork_from_daemon_thread(version=None):
    r = trace("py_fork_in_daemon", python_version=version)
    r.expect_rc(0)
    parent, child, forker = r.report.int("pid"), r.report.int("child"), r.report.int("forker")
    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.main_thread", fork["main_thread"], False)
    fit = r.one("fork_in_thread")
    expect_eq("fork_in_thread", (fit["pid"], fit["tid"], fit["child_pid"], fit["severity"]),
              (parent, forker, child, "warning"))


def test_fork_from_daemon_thread():
    """os.fork() from a threading.Thread(daemon=True) (Debian's python3)."""
    fork_from_daemon_thread()


def test_fork_from_daemon_thread_py312():
    fork_from_daemon_thread("3.12")


def test_fork_from_daemon_thread_py313():
    fork_from_daemon_thread("3.13")


def multiprocessing_exit_with_thread(version=None):
    r = trace("py_mp_thread", python_version=version)
    r.expect_rc(0)
    parent, process = r.report.int("pid"), r.report.int("process")
    expect_eq("Process.exitcode", r.report.int("exitcode"), 3)
    r.one("fork", pid=parent, child_pid=process)
    ewt = r.one("exit_with_threads", pid=process)
    expect_eq("exit_with_threads.severity", ewt["severity"], "warning")
    expect_eq("exit_with_threads.exit_code", ewt["exit_code"], 3)
    expect_eq("exit_with_threads.threads", threads_of(ewt), r.report.threads("thread"))


def test_multiprocessing_exit_with_thread():
    """A multiprocessing 'fork' Process starts a thread and leaves with os._exit(3)."""
    multiprocessing_exit_with_thread()


def test_multiprocessing_exit_with_thread_py313():
    multiprocessing_exit_with_thread("3.13")
