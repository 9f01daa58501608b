"""--locks=uprobe: uprobes on the traced program's own glibc follow every mutex,
rwlock and semaphore operation, so a held_lock is exact (found_by "uprobe", with
held_ns), includes read-locks and semaphores (CPython's threading.Lock), and the
deadlock of a child on such a lock is confirmed as held_at_fork. Waiting for a
lock, waiting on a condition and failed attempts hold nothing. Nothing stays
attached once forktrace has exited."""
import json
import os
import re
import shutil
import subprocess

import harness
from harness import (Skip, expect, expect_eq, fail, prog, start_forktrace, timeout, trace,
                     wait_until)

UPROBE = ("--json", "--locks=uprobe")
EBUSY, EAGAIN, ETIMEDOUT = 16, 11, 110


def addr(text):
    return int(text, 16)


def held_at(r, pid, child, lock):
    """The held_lock events of the fork pid -> child for the lock at address lock."""
    return [e for e in r.where("held_lock", pid=pid, child_pid=child) if addr(e["lock"]) == lock]


def deadlocks_at(r, child, lock):
    return [e for e in r.where("child_deadlock", pid=child) if addr(e["lock"]) == lock]


def expect_held(r, pid, child, lock, lock_type, holder):
    found = held_at(r, pid, child, lock)
    if len(found) != 1:
        fail(f"expected one held_lock for lock {lock:#x} at the fork {pid} -> {child}, "
             f"found {len(found)}:" + "".join("\n  " + json.dumps(e) for e in r.where("held_lock")))
    ev = found[0]
    expect_eq("held_lock.found_by", ev["found_by"], "uprobe")
    expect_eq("held_lock.lock_type", ev["lock_type"], lock_type)
    expect_eq("held_lock.holder_tid", ev["holder_tid"], holder)
    expect_eq("held_lock.holder_is_forker", ev["holder_is_forker"], False)
    expect_eq("held_lock.severity", ev["severity"], "warning")
    expect("held_ns" in ev and ev["held_ns"] > 0, f"held_lock.held_ns should be > 0: {ev}")
    return ev


def expect_deadlock(r, pid, child, lock, holder, lock_type):
    found = deadlocks_at(r, child, lock)
    if len(found) != 1:
        fail(f"expected one child_deadlock of {child} on lock {lock:#x}, found {len(found)}:"
             + "".join("\n  " + json.dumps(e) for e in r.where("child_deadlock")))
    ev = found[0]
    expect_eq("child_deadlock.reason", ev["reason"], "held_at_fork")
    expect_eq("child_deadlock.severity", ev["severity"], "error")
    expect_eq("child_deadlock.tid (the child's only thread)", ev["tid"], child)
    expect_eq("child_deadlock.holder_tid", ev["holder_tid"], holder)
    expect_eq("child_deadlock.parent_pid", ev["parent_pid"], pid)
    if "lock_type" in ev:
        expect_eq("child_deadlock.lock_type", ev["lock_type"], lock_type)
    return ev


def hold(kind, child_mode):
    """uprobe_hold KIND --child=MODE under --locks=uprobe -> (result, pid, child, worker, lock)."""
    r = trace("uprobe_hold", kind, f"--child={child_mode}", options=UPROBE, timeout=25)
    r.expect_rc(0)
    pid, child = r.report.int("pid"), r.report.int("child")
    worker, lock = r.report.int("worker_tid"), addr(r.report.get("lock"))
    fork = r.one("fork", pid=pid, child_pid=child)
    expect(fork["held_locks"] >= 1, f"fork.held_locks should count the worker's lock: {fork}")
    if child_mode == "lock":
        expect_eq("child's exit status (killed: it never got the lock)",
                  r.report.int("child_status"), 137)
        expect_eq("child_lock_result lines", r.report.values("child_lock_result"), [])
    return r, pid, child, worker, lock


@timeout(40)
def test_uprobe_mutex_held_at_fork():
    """A worker holds a mutex across the fork; the child locks it and hangs."""
    r, pid, child, worker, lock = hold("mutex", "lock")
    ev = expect_held(r, pid, child, lock, "mutex", worker)
    expect_eq("held_lock.holder_comm", ev["holder_comm"], "ft-holder")
    expect_deadlock(r, pid, child, lock, worker, "mutex")


@timeout(40)
def test_uprobe_rwlock_read_held_at_fork():
    """A read-locked rwlock records no owner: only uprobes see who holds it."""
    r, pid, child, worker, lock = hold("rwlock-read", "exit")
    expect_held(r, pid, child, lock, "rwlock_read", worker)


@timeout(40)
def test_uprobe_semaphore_held_at_fork():
    """A worker sem_wait()ed a sem_t of value 1 (a lock, the way CPython builds one);
    the child sem_wait()s it too and hangs."""
    r, pid, child, worker, lock = hold("semaphore", "lock")
    expect_held(r, pid, child, lock, "semaphore", worker)
    expect_deadlock(r, pid, child, lock, worker, "semaphore")


def python_lock(version=None):
    r = trace("uprobe_py_lock", options=UPROBE, timeout=30, python_version=version)
    r.expect_rc(0)
    pid, child = r.report.int("pid"), r.report.int("child")
    holder, lock = r.report.int("holder_tid"), addr(r.report.get("lock"))
    expect_eq("child's exit status (killed: it never got the lock)", r.report.int("child_status"), 137)
    # the semaphore is a threading.Lock's: said as the Python lock it is, once
    held = expect_held(r, pid, child, lock, "py_lock", holder)
    expect_eq("held_lock.lock_object", held.get("lock_object"), "threading.Lock")
    expect_eq("held_lock.holder_name", held.get("holder_name"), "ft-pyholder")
    funcs = [f.get("func") for f in held.get("holder_stack") or [] if f.get("lang") == "python"]
    expect("main.<locals>.holder" in funcs or "holder" in funcs,
           f"held_lock.holder_stack does not pass through holder(): {held.get('holder_stack')}")
    ev = expect_deadlock(r, pid, child, lock, holder, "py_lock")
    expect_eq("child_deadlock.lock_object", ev.get("lock_object"), "threading.Lock")


@timeout(45)
def test_uprobe_python_lock():
    """A thread holds a threading.Lock while the main thread forks (Debian's python3)."""
    python_lock()


@timeout(45)
def test_uprobe_python_lock_py312():
    python_lock("3.12")


@timeout(45)
def test_uprobe_python_lock_py313():
    python_lock("3.13")


@timeout(40)
def test_uprobe_waiting_is_not_holding():
    """At the fork: a thread in pthread_cond_wait (its mutex is free), a thread blocked
    in pthread_mutex_lock, and failed trylock / timedlock / sem_trywait / sem_timedwait /
    trywrlock by the forking thread: none of them holds anything; the real holder does."""
    r = trace("uprobe_controls", options=UPROBE, timeout=25)
    r.expect_rc(0)
    rep = r.report
    pid, child = rep.int("pid"), rep.int("child")
    holder = rep.int("holder_tid")
    for key, want in (("trylock", EBUSY), ("timedlock", ETIMEDOUT), ("sem_trywait", EAGAIN),
                      ("sem_timedwait", ETIMEDOUT), ("trywrlock", EBUSY)):
        expect_eq(f"the trigger's {key} result (it must fail)", rep.int(key), want)
    expect_eq("the child took the condition's mutex", rep.int("child_cond_lock"), 0)
    expect_eq("child's exit status", rep.int("child_status"), 0)

    # held: the holder's mutex (not the blocked waiter's, not the failed attempts')
    expect_held(r, pid, child, addr(rep.get("lock_mutex")), "mutex", holder)
    # held for reading by the holder; the failed trywrlock took nothing
    expect_held(r, pid, child, addr(rep.get("lock_rwlock")), "rwlock_read", holder)
    for key in ("lock_cond", "lock_sem0"):
        found = held_at(r, pid, child, addr(rep.get(key)))
        expect(not found, f"{key} was not held at the fork, yet: "
               + "".join("\n  " + json.dumps(e) for e in found))
    r.none("child_deadlock")


# ---------------------------------------------------------------- nothing left behind

def uprobe_links_of(pid):
    """{link id: pid it probes (None if the kernel does not say)} of the uprobe links
    (uprobe_multi or perf-event ones) that process pid holds."""
    return {i: probed for i, (kind, probed) in harness.bpf_links_of(pid).items()
            if "uprobe" in kind or "perf" in kind}


def listed_links():
    exe = shutil.which("bpftool") or shutil.which("bpftool", path="/usr/sbin:/sbin")
    if not exe:
        raise Skip("bpftool is not installed")
    c = subprocess.run([exe, "-j", "link", "list"], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    if c.returncode != 0:
        fail(f"bpftool -j link list failed: {c.stderr.strip()}")
    return {ln["id"]: ln for ln in json.loads(c.stdout or "[]")}


def links_while_tracing(ft, root):
    """Wait until forktrace holds uprobe links for the root and its child; return them."""
    ft.report.wait("child", timeout=15, alive=ft.proc)
    child = ft.report.int("child")
    ft.wait_for("held_lock", child_pid=child, timeout=15)

    def both():
        links = uprobe_links_of(ft.pid)
        pids = set(links.values())
        return links if links and (None in pids or {root, child} <= pids) else None
    links = wait_until(both, 10, f"forktrace holding uprobe links for pids {root} and {child}",
                       ft.proc)
    listed = listed_links()
    for lid in links:
        expect(lid in listed, f"forktrace's uprobe link {lid} is not in bpftool's list")
    return links


@timeout(60)
def test_uprobe_links_removed_on_exit():
    """While tracing, forktrace holds lock uprobe links for the root and its child;
    once it has exited, after an interrupt or at the command's end, none is left."""
    ft = start_forktrace([*UPROBE, "--", *prog("uprobe_hold", "mutex", "--child=lock")],
                         env={"FT_HOLD_SECONDS": "30"})
    ft.report.wait("pid", timeout=15, alive=ft.proc)
    links = links_while_tracing(ft, ft.report.int("pid"))
    ft.interrupt()
    ft.finish(timeout=30)
    left = sorted(set(links) & set(listed_links()))
    expect(not left, f"uprobe links left after forktrace was interrupted: {left}")

    ft = start_forktrace([*UPROBE, "--", *prog("uprobe_hold", "mutex", "--child=lock")],
                         env={"FT_HOLD_SECONDS": "2"})
    ft.report.wait("pid", timeout=15, alive=ft.proc)
    links = links_while_tracing(ft, ft.report.int("pid"))
    r = ft.finish(timeout=30)
    r.expect_rc(0)
    left = sorted(set(links) & set(listed_links()))
    expect(not left, f"uprobe links left after the traced command ended: {left}")
