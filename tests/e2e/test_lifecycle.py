"""Forks, execs and exits of C/C++ programs run as `forktrace --json -- COMMAND`."""
from harness import expect, expect_eq, threads_of, trace


def test_orphaned_threads():
    """A parent forks while two named workers run: the child is born without them."""
    r = trace("threaded_fork", "exit")
    r.expect_rc(0)
    parent, child = r.report.int("pid"), r.report.int("child")
    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.tid", fork["tid"], parent)
    expect_eq("fork.threads", fork["threads"], 3)
    expect_eq("fork.main_thread", fork["main_thread"], True)
    orphans = r.one("orphaned_threads")
    expect_eq("orphaned_threads.pid", orphans["pid"], parent)
    expect_eq("orphaned_threads.child_pid", orphans["child_pid"], child)
    expect_eq("orphaned_threads.severity", orphans["severity"], "warning")
    expect_eq("orphaned_threads.threads", threads_of(orphans), r.report.threads("thread"))
    r.none("fork_in_thread")


def test_fork_in_thread():
    """A worker thread forks: fork_in_thread names it; the main thread is orphaned."""
    r = trace("fork_in_thread")
    r.expect_rc(0)
    parent, child, forker = r.report.int("pid"), r.report.int("child"), r.report.int("forker")
    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.tid", fork["tid"], forker)
    expect_eq("fork.main_thread", fork["main_thread"], False)
    expect_eq("fork.threads", fork["threads"], 2)
    fit = r.one("fork_in_thread")
    expect_eq("fork_in_thread", (fit["pid"], fit["tid"], fit["child_pid"], fit["severity"]),
              (parent, forker, child, "warning"))
    orphans = r.one("orphaned_threads", pid=parent, child_pid=child)
    expect_eq("orphaned_threads.threads", threads_of(orphans), r.report.threads("main"))


def test_exit_with_threads():
    """A forked child _exit(7)s while its two threads run: they die mid-work."""
    r = trace("child_exit_threads")
    r.expect_rc(0)
    child = r.report.int("child")
    expect_eq("child's exit status", r.report.int("child_status"), 7)
    ewt = r.one("exit_with_threads")
    expect_eq("exit_with_threads.pid", ewt["pid"], child)
    expect_eq("exit_with_threads.severity", ewt["severity"], "warning")
    expect_eq("exit_with_threads.exit_code", ewt["exit_code"], 7)
    expect_eq("exit_with_threads.threads", threads_of(ewt), r.report.threads("thread"))
    exit_ = r.one("exit", pid=child)
    expect_eq("exit of the child", (exit_["exit_code"], exit_["signal"]), (7, 0))


def test_fork_exec_is_safe():
    """A threaded parent's child execs /bin/true: exec is reported, the hazard is only info."""
    r = trace("threaded_fork", "exec")
    r.expect_rc(0)
    parent, child = r.report.int("pid"), r.report.int("child")
    expect_eq("child's exit status", r.report.int("child_status"), 0)
    exec_ = r.one("exec", pid=child)
    expect_eq("exec.filename", exec_["filename"], "/bin/true")
    expect(exec_["since_fork_ns"] > 0, f"exec.since_fork_ns should be > 0: {exec_}")
    orphans = r.one("orphaned_threads", pid=parent, child_pid=child)
    expect_eq("orphaned_threads.severity", orphans["severity"], "info")
    expect_eq("orphaned_threads.threads", threads_of(orphans), r.report.threads("thread"))
    r.quiet()


def test_grandchild():
    """Root -> child -> grandchild: every fork and every exit is seen."""
    r = trace("grandchild")
    r.expect_rc(0)
    root, child, grandchild = (r.report.int(k) for k in ("pid", "child", "grandchild"))
    r.one("fork", pid=root, child_pid=child)
    r.one("fork", pid=child, child_pid=grandchild)
    for pid in (root, child, grandchild):
        exit_ = r.one("exit", pid=pid)
        expect_eq(f"exit of {pid}", (exit_["exit_code"], exit_["signal"]), (0, 0))
    r.quiet()


def test_fork_as_first_action():
    """COMMAND forks before doing anything else: tracing must already be on."""
    r = trace("plain_fork")
    r.expect_rc(0)
    fork = r.one("fork", pid=r.report.int("pid"), child_pid=r.report.int("child"))
    expect_eq("fork.threads", fork["threads"], 1)


def test_cpp_thread_pool():
    """A C++ std::thread pool of 3: the child of a fork is born without all 3."""
    r = trace("pool")
    r.expect_rc(0)
    parent, child = r.report.int("pid"), r.report.int("child")
    fork = r.one("fork", pid=parent, child_pid=child)
    expect_eq("fork.threads", fork["threads"], 4)
    orphans = r.one("orphaned_threads", pid=parent, child_pid=child)
    expect_eq("orphaned_threads.severity", orphans["severity"], "warning")
    expect_eq("orphaned_threads.threads", threads_of(orphans), r.report.threads("thread"))
