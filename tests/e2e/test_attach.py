"""Attaching to running processes: -p PID and -a."""
from harness import (expect, expect_eq, run_forktrace, start, start_forktrace, threads_of,
                     timeout, vanished_pid)


@timeout(30)
def test_attach_to_running_process():
    """-p: a running program with 2 named threads forks 5 times after the attach."""
    target = start("attach_target")
    target.wait_report("ready")
    ft = start_forktrace(["-p", str(target.pid), "--json"])
    attach = ft.wait_for("attach", pid=target.pid)
    expect_eq("attach.threads", len(attach["threads"]), 3)
    tids = [t["tid"] for t in attach["threads"]]
    expect(target.pid in tids, f"attach.threads has no main thread {target.pid}: {tids}")
    for t in target.report.threads("thread"):
        expect(t in attach["threads"], f"attach.threads has no {t}: {attach['threads']}")
    expect_eq("attach.locks", attach["locks"], "scan")
    target.proceed()                              # fork 5 times
    target.wait_report("forked")
    ft.wait_for("orphaned_threads", pid=target.pid, count=5)
    ft.interrupt()
    r = ft.finish()
    r.expect_rc(0)
    children = target.report.ints("child")
    expect_eq("children forked", len(children), 5)
    for child in children:
        fork = r.one("fork", pid=target.pid, child_pid=child)
        expect_eq("fork.threads", fork["threads"], 3)
        orphans = r.one("orphaned_threads", pid=target.pid, child_pid=child)
        expect_eq("orphaned_threads.severity", orphans["severity"], "warning")
        expect_eq("orphaned_threads.threads", threads_of(orphans), target.report.threads("thread"))
    expect_eq("fork events", len(r.where("fork")), 5)
    r.one("attach", pid=target.pid)
    r.one("detach", pid=target.pid)
    expect_eq("target's exit status", target.finish(), 0)


def test_attach_to_missing_pid():
    """-p with a pid that does not exist: exit 1 with one line on stderr."""
    r = run_forktrace(["-p", str(vanished_pid()), "--json"], check=False)
    r.expect_one_line_error(1)


@timeout(30)
def test_all_sees_unrelated_process():
    """-a: the fork of a process started after the attach, by no one forktrace knows."""
    ft = start_forktrace(["-a", "--json", "-d", "20s"])
    ft.wait_for("attach", timeout=15)
    target = start("plain_fork")
    expect_eq("target's exit status", target.finish(), 0)
    pid, child = target.report.int("pid"), target.report.int("child")
    ft.wait_for("fork", pid=pid, child_pid=child)
    ft.interrupt()
    r = ft.finish()
    r.expect_rc(0)
    fork = r.one("fork", pid=pid, child_pid=child)
    expect(fork["threads"] == 1 and fork["main_thread"] is True, f"unexpected fork event: {fork}")
