"""The tree as it is (issue 9): -p takes a target's existing descendants, a child
already stuck when forktrace attaches, -p naming a thread, an event loop carried
across fork (inherited_epoll), and exit_with_threads when the dying child's
other thread is running.

Triggers: tests/progs/tree_forkers.c, hold_mutex.c, py_prefork_server.py,
attach_target.c, py_asyncio_fork.py, exit_spinning.c. """
import os
import signal

from harness import (event_time_ns, expect, expect_eq, prog, start, start_forktrace,
                     threads_of, timeout, trace, wait_until)

DEADLOCK_WITHIN_S = 1.0              # SPEC: "Reported within 1 s of the block"
SYS_FUTEX = 202
HOLDER = "ft-holder"                 # hold_mutex's worker, which holds the lock


# ---------------------------------------------------------------- helpers

def syscall_nr(pid):
    """The system call the process's main thread is in, or None (running, gone)."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            word = f.read().split(" ", 1)[0]
    except OSError:
        return None
    return int(word) if word.lstrip("-").isdigit() else None


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def expect_attached_once(r, pids):
    """Each pid has exactly one attach event, and no pid has two."""
    attached = [e["pid"] for e in r.where("attach")]
    doubled = sorted({p for p in attached if attached.count(p) > 1})
    expect(not doubled, f"attached twice: {doubled}")
    missing = sorted(set(pids) - set(attached))
    expect(not missing, f"no attach event for existing processes {missing} (attached: {sorted(attached)})")


# ---------------------------------------------------------------- a: the existing tree

@timeout(60)
def test_attach_takes_existing_children_and_grandchild():
    """-p ROOT of a tree started before forktrace: two threaded children and a
    threaded grandchild, each forking every 0.2 s. Each gets its attach event;
    their forks and orphaned_threads are reported like the root's would be."""
    target = start("tree_forkers")
    target.wait_report("ready")
    rep = target.report
    root = target.pid
    children = rep.ints("child")
    grandchild = rep.int("grandchild")
    forkers = children + [grandchild]
    expect_eq("children", len(children), 2)
    ft = start_forktrace(["-p", str(root), "--json"])
    try:
        ft.wait_for("attach", pid=root)
        for pid in forkers:
            ft.wait_for("attach", pid=pid, timeout=5)
        for pid in forkers:
            ft.wait_for("orphaned_threads", pid=pid, count=2, timeout=10)
        expect_eq("the tree's exit status", target.finish(timeout=10), 0)
    finally:
        kill_group(root)
    r = ft.finish(timeout=10)
    r.expect_rc(0)
    expect_attached_once(r, [root] + forkers)
    kids = {}
    for line in rep.values("forked"):
        forker, kid = map(int, line.split(","))
        kids.setdefault(forker, set()).add(kid)
    for pid in forkers:
        forks = r.where("fork", pid=pid)
        expect(len(forks) >= 2, f"forks of {pid} after the attach: expected at least 2, got {len(forks)}")
        want_threads = rep.threads(f"thread.{pid}")
        for fork in forks:
            child = fork["child_pid"]
            expect(child in kids.get(pid, ()), f"fork of {pid} names a child it did not fork: {fork}")
            expect_eq(f"fork.threads of {pid}", fork["threads"], 2)
            orphans = r.one("orphaned_threads", pid=pid, child_pid=child)
            expect_eq("orphaned_threads.severity", orphans["severity"], "warning")
            expect_eq(f"orphaned_threads.threads of {pid}", threads_of(orphans), want_threads)
    r.none("fork", pid=root)      # the root forked before the attach only


# ---------------------------------------------------------------- b: a child already stuck

@timeout(40)
def test_attach_reports_child_already_deadlocked():
    """A child blocked on a mutex whose owner (a worker of its parent) was not
    copied, before forktrace starts; -p PARENT: child_deadlock owner_gone
    within 1 s of the child's attach."""
    target = start("hold_mutex", "normal")
    target.wait_report("child_pid")
    rep = target.report
    parent, child, worker = target.pid, rep.int("child_pid"), rep.int("worker_tid")
    wait_until(lambda: syscall_nr(child) == SYS_FUTEX, 10, "the child blocking on the mutex",
               alive=target.proc)
    ft = start_forktrace(["-p", str(parent), "--json"])
    try:
        ft.wait_for("attach", pid=parent)
        attach = ft.wait_for("attach", pid=child, timeout=5)
        dl = ft.wait_for("child_deadlock", pid=child, timeout=5)
    finally:
        kill_group(parent)
        target.proc.wait(timeout=10)
    r = ft.finish(timeout=10)
    r.expect_rc(0)
    expect_attached_once(r, [parent, child])
    dl = r.one("child_deadlock", pid=child)
    expect_eq("child_deadlock.reason", dl["reason"], "owner_gone")
    expect_eq("child_deadlock.severity", dl["severity"], "error")
    expect_eq("child_deadlock.tid", dl["tid"], child)
    expect_eq("child_deadlock.lock", int(dl["lock"], 16), int(rep.get("lock"), 16))
    expect_eq("child_deadlock.holder_tid", dl["holder_tid"], worker)
    expect_eq("child_deadlock.holder_comm (from the parent)", dl["holder_comm"], HOLDER)
    expect_eq("child_deadlock.parent_pid", dl["parent_pid"], parent)
    expect(dl["since_fork_ns"] >= 0, f"child_deadlock.since_fork_ns: {dl['since_fork_ns']}")
    late = (event_time_ns(dl) - event_time_ns(attach)) / 1e9
    expect(late <= DEADLOCK_WITHIN_S,
           f"child_deadlock came {late:.3f}s after the child's attach (SPEC: within 1 s)")


# ---------------------------------------------------------------- c: a pre-fork server

@timeout(60)
def test_attach_prefork_server_sees_every_worker():
    """A --preload style master (a thread, os.fork workers) attached after its
    workers exist: each worker is attached; a worker killed with SIGKILL has
    its exit reported, and the master's fork of its replacement too."""
    target = start("py_prefork_server")
    target.wait_report("ready")
    rep = target.report
    master, workers = target.pid, rep.ints("worker")
    expect_eq("workers", len(workers), 3)
    ft = start_forktrace(["-p", str(master), "--json"])
    try:
        ft.wait_for("attach", pid=master)
        for pid in workers:
            ft.wait_for("attach", pid=pid, timeout=5)
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        target.wait_report("reforked")
        new = rep.int("reforked")
        ft.wait_for("exit", pid=victim, timeout=5)
        ft.wait_for("fork", pid=master, child_pid=new, timeout=5)
    finally:
        kill_group(master)
        target.proc.wait(timeout=10)
    r = ft.finish(timeout=10)
    r.expect_rc(0)
    expect_attached_once(r, [master] + workers)
    expect_eq("the master saw", rep.values("died"), [f"{victim},{128 + signal.SIGKILL}"])
    expect_eq("exit of the killed worker: signal", r.one("exit", pid=victim)["signal"], signal.SIGKILL)
    fork = r.one("fork", pid=master, child_pid=new)
    expect_eq("fork.threads (main and heartbeat)", fork["threads"], 2)
    orphans = r.one("orphaned_threads", pid=master, child_pid=new)
    expect_eq("orphaned_threads.threads", threads_of(orphans), rep.threads("thread"))
    r.none("attach", pid=new)     # forked after the attach: a fork, not an attach


# ---------------------------------------------------------------- d: an event loop across fork

@timeout(40)
def test_asyncio_loop_carried_across_fork():
    """os.fork() in a coroutine: the child that goes on with the inherited loop
    is inherited_epoll; a child with asyncio.new_event_loop() and a child that
    exec's a Python with a loop of its own (its epoll fd has the parent's
    number) are not. The controls are forked first and are blocked in
    epoll_wait longer than the one that is reported."""
    ft = start_forktrace(["--json", "--", *prog("py_asyncio_fork", "new_loop", "exec", "inherited")])
    rep = ft.report
    rep.wait("pgid", alive=ft.proc)
    try:
        rep.wait("all_waiting", timeout=20, alive=ft.proc)
        inherited = rep.int("child.inherited")
        ft.wait_for("inherited_epoll", pid=inherited, timeout=5)
    finally:
        kill_group(rep.int("pgid"))
    r = ft.finish(timeout=10)
    r.expect_rc(128 + signal.SIGKILL)
    parent = rep.int("pid")
    ev = r.one("inherited_epoll")
    expect_eq("inherited_epoll.pid", ev["pid"], inherited)
    expect_eq("inherited_epoll.tid", ev["tid"], inherited)
    expect_eq("inherited_epoll.fd", ev["fd"], rep.int("child_epoll_fd.inherited"))
    expect_eq("inherited_epoll.fd (the parent's loop)", ev["fd"], rep.int("epoll_fd"))
    expect_eq("inherited_epoll.parent_pid", ev["parent_pid"], parent)
    expect_eq("inherited_epoll.severity", ev["severity"], "warning")
    for mode in ("new_loop", "exec"):
        r.none("inherited_epoll", pid=rep.int(f"child.{mode}"))


# ---------------------------------------------------------------- e: -p TID

@timeout(30)
def test_attach_to_thread_id_traces_its_process():
    """-p with the tid of a thread that is not the leader: its process is traced,
    with one line on stderr saying so."""
    target = start("attach_target")
    target.wait_report("ready")
    tid = target.report.threads("thread")[0]["tid"]
    expect(tid != target.pid, "the worker's tid is the pid?")
    ft = start_forktrace(["-p", str(tid), "--json"])
    ft.wait_for("attach", pid=target.pid)
    target.proceed()                              # fork 5 times
    target.wait_report("forked")
    ft.wait_for("orphaned_threads", pid=target.pid, count=5)
    ft.interrupt()
    r = ft.finish()
    r.expect_rc(0)
    r.one("attach", pid=target.pid)
    r.none("attach", pid=tid)
    expect_eq("fork events of the process", len(r.where("fork", pid=target.pid)), 5)
    notice = [line for line in r.stderr.splitlines() if str(tid) in line]
    expect_eq("stderr lines naming the thread", len(notice), 1)
    expect(str(target.pid) in notice[0], f"the notice does not name the process {target.pid}: {notice[0]!r}")
    expect_eq("target's exit status", target.finish(), 0)


# ---------------------------------------------------------------- f: exit_with_threads, every time

CHILDREN = 100


@timeout(90)
def test_exit_with_running_thread_every_time():
    """100 forked children in a row, each _exit(5)s while its second thread spins
    on a CPU: each gets exit_with_threads naming that thread."""
    r = trace("exit_spinning", str(CHILDREN), timeout=80)
    r.expect_rc(0)
    children = r.report.ints("child")
    expect_eq("children", len(children), CHILDREN)
    expect_eq("children's exit status", r.report.ints("child_status"), [5] * CHILDREN)
    wrong = []
    for child in children:
        found = r.where("exit_with_threads", pid=child)
        want = r.report.threads(f"spinner.{child}")
        if len(found) != 1:
            wrong.append(f"{child}: {len(found)} exit_with_threads events")
        elif (threads_of(found[0]), found[0]["exit_code"], found[0]["severity"]) != (want, 5, "warning"):
            wrong.append(f"{child}: {found[0]} (expected threads {want}, exit_code 5, warning)")
    expect(not wrong, f"exit_with_threads wrong for {len(wrong)} of {CHILDREN} children:\n  "
           + "\n  ".join(wrong[:10]))
