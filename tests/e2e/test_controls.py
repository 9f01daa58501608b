"""Safe programs: forktrace must not warn about them at all."""
from harness import expect_eq, threads_of, trace


def test_single_threaded_fork():
    """A single-threaded parent forks and waits: no hazard."""
    r = trace("plain_fork")
    r.expect_rc(0)
    r.quiet()
    fork = r.one("fork", pid=r.report.int("pid"), child_pid=r.report.int("child"))
    expect_eq("fork.threads", fork["threads"], 1)
    expect_eq("fork.main_thread", fork["main_thread"], True)
    r.none("orphaned_threads")
    r.none("fork_in_thread")


def test_python_subprocess_with_threads():
    """subprocess runs /bin/true from a Python program with 2 running threads: fork+exec is safe."""
    r = trace("py_subprocess_threads")
    r.expect_rc(0)
    r.quiet()
    parent, child = r.report.int("pid"), r.report.int("child")
    expect_eq("/bin/true's exit status", r.report.int("child_status"), 0)
    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.threads", fork["threads"], 3)
    expect_eq("exec.filename", r.one("exec", pid=child)["filename"], "/bin/true")
    for orphans in r.where("orphaned_threads", pid=parent, child_pid=child):
        expect_eq("orphaned_threads.threads", threads_of(orphans), r.report.threads("thread"))
