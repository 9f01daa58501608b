"""Native stacks of hazards (SPEC.md "Stacks"): what each orphaned thread was
doing at the fork, where the holder of a held lock took it, where the forked
child is stuck, and the function that called fork; compared with eu-stack,
which reads the same threads with ptrace, where it applies.

Trigger: tests/progs/stack_hazards.c, built here in several ways (-O2 without
frame pointers, with them, stripped): each hazard happens in a function of
its own name. Its child hangs on the held mutex forever, so each test waits
for child_deadlock, compares, then kills the trigger's process group.
"""
import os
import re
import shutil
import signal
import subprocess

import harness
from harness import Skip, expect, expect_eq, fail, start_forktrace, timeout

SRC = os.path.join(harness.PROGS_SRC, "stack_hazards.c")
FLAGS = {
    "nofp": ["-O2", "-g", "-fomit-frame-pointer"],
    "fp": ["-O2", "-g", "-fno-omit-frame-pointer"],
    "stripped": ["-O2", "-g", "-fomit-frame-pointer"],
}
EU_FRAME = re.compile(r"^#\d+\s+0x[0-9a-f]+\s+(?:(\S+)\s+)?-\s+(\S+)$")
EU_LINE = re.compile(r"^\s+(.+?):(\d+)(?::\d+)?$")


def build(variant):
    """stack_hazards built as `variant` into build/progs/ (once per source change)."""
    out = os.path.join(harness.PROGS_BIN, f"stack_hazards_{variant}")
    deps = [SRC, os.path.join(harness.PROGS_SRC, "ftlib.c")]
    if os.path.exists(out) and os.path.getmtime(out) >= max(map(os.path.getmtime, deps)):
        return out
    os.makedirs(harness.PROGS_BIN, exist_ok=True)
    tmp = f"{out}.tmp{os.getpid()}"
    c = subprocess.run(["cc", *FLAGS[variant], "-pthread", "-Wall", "-o", tmp, SRC],
                       capture_output=True, text=True, timeout=60)
    if c.returncode != 0:
        fail(f"cannot compile {SRC} ({variant}):\n{c.stderr}")
    if variant == "stripped":
        subprocess.run(["strip", "--strip-all", tmp], check=True, timeout=60)
    os.replace(tmp, out)
    return out


def funcs(stack, module=None):
    """The function names of a stack's frames (of one module only, if given)."""
    return [f.get("func") for f in stack if module is None or f.get("module") == module]


def frame_of(stack, func):
    found = [f for f in stack if f.get("func") == func]
    expect(found, f"no frame of {func} in {funcs(stack)}")
    return found[0]


def expect_line(stack, func, source="stack_hazards.c"):
    f = frame_of(stack, func)
    expect(f.get("file", "").endswith(source) and f.get("line", 0) > 0,
           f"{func}: no file:line in {source}: {f}")
    return f


def eu_stack(pid):
    """{tid: [(func, module, file, line)]} from eu-stack -p PID (inlined frames too)."""
    if not shutil.which("eu-stack"):
        raise Skip("eu-stack is not installed (Debian: elfutils)")
    c = subprocess.run(["eu-stack", "-i", "-m", "-s", "-p", str(pid)], capture_output=True,
                       text=True, timeout=30)
    threads, tid = {}, None
    for line in c.stdout.splitlines():
        m = re.match(r"^TID (\d+):", line)
        if m:
            tid = int(m.group(1))
            threads[tid] = []
            continue
        m = EU_FRAME.match(line)
        if m and tid is not None:
            threads[tid].append([m.group(1), os.path.basename(m.group(2)), None, 0])
            continue
        m = EU_LINE.match(line)
        if m and tid is not None and threads[tid]:
            threads[tid][-1][2:] = [m.group(1), int(m.group(2))]
    if not threads:
        fail(f"eu-stack -p {pid} read nothing:\n{c.stdout}{c.stderr}")
    return threads


def expect_like_eu_stack(what, ours, theirs, module):
    """The frames of `module` (the trigger itself): the same functions at the
    same lines, in the same order, as eu-stack found."""
    mine = [(f.get("func"), f.get("line", 0)) for f in ours if f.get("module") == module]
    eu = [(func, line) for func, mod, _, line in theirs if mod == module]
    expect_eq(f"{what}: the trigger's frames (function, line), ours vs eu-stack", mine, eu)


def run_hang(variant, *args, options=("--json",)):
    """forktrace OPTIONS -- stack_hazards_VARIANT ARGS, up to the child's deadlock.
    Returns (ft, binary name, the child's child_deadlock)."""
    exe = build(variant)
    ft = start_forktrace([*options, "--", exe, *args])
    ft.report.wait("child_pid", alive=ft.proc)
    ft.report.wait("pgid", alive=ft.proc)
    dl = ft.wait_for("child_deadlock", pid=ft.report.int("child_pid"), timeout=10)
    return ft, os.path.basename(exe), dl


def finish(ft):
    harness.kill_group(ft.report.int("pgid"))
    r = ft.finish(timeout=10)
    r.expect_rc(128 + signal.SIGKILL)
    return r


def check_all_hazards(variant, compare=True):
    ft, exe, dl = run_hang(variant)
    rep = ft.report
    pid, child = rep.int("pid"), rep.int("child_pid")
    try:
        # the parent's threads and the child are still where they were at the fork
        theirs = eu_stack(pid) if compare else None
        theirs_child = eu_stack(child) if compare else None
    finally:
        r = finish(ft)
    orphans = {t["tid"]: t for t in r.one("orphaned_threads", pid=pid)["threads"]}
    waiter, locker = orphans[rep.int("waiter_tid")], orphans[rep.int("locker_tid")]
    expect_line(waiter["stack"], "worker_waits_here")
    expect_line(locker["stack"], "take_the_lock")
    held = r.one("held_lock", pid=pid, holder_tid=rep.int("locker_tid"))
    expect_line(held["holder_stack"], "take_the_lock")
    expect_line(held["holder_stack"], "locker_main")
    dl = r.one("child_deadlock", pid=child)
    expect_line(dl["stack"], "child_blocks_here")
    expect_line(dl["stack"], "fork_caller")
    expect_line(dl.get("holder_stack", []), "take_the_lock")
    if compare:
        expect_like_eu_stack("waiter", waiter["stack"], theirs[rep.int("waiter_tid")], exe)
        expect_like_eu_stack("locker", locker["stack"], theirs[rep.int("locker_tid")], exe)
        expect_like_eu_stack("child", dl["stack"], theirs_child[child], exe)
    return r


@timeout(60)
def test_stacks_without_frame_pointers():
    """-O2 -fomit-frame-pointer: the orphans' stacks at the fork name worker_waits_here and
    take_the_lock with file:line, the held lock's holder_stack names take_the_lock, the
    child's deadlock names child_blocks_here, each as eu-stack reads the same thread"""
    check_all_hazards("nofp")


@timeout(60)
def test_stacks_with_frame_pointers():
    """The same built with frame pointers"""
    check_all_hazards("fp")


@timeout(60)
def test_stacks_fork_in_thread_names_the_fork_caller():
    """A fork from a thread: fork_in_thread's stack is the forking thread's at the fork,
    from the fork through fork_caller and forker_main to the thread's start"""
    ft, exe, _ = run_hang("nofp", "--from-thread")
    r = finish(ft)
    fit = r.one("fork_in_thread", pid=r.report.int("pid"))
    names = funcs(fit["stack"])
    expect_line(fit["stack"], "fork_caller")
    expect_line(fit["stack"], "forker_main")
    expect(names.index("fork_caller") < names.index("forker_main"),
           f"fork_caller is not inside forker_main: {names}")
    expect("start_thread" in names, f"the forking thread's stack stops short: {names}")


@timeout(60)
def test_stacks_all_fork_event_names_the_fork_caller():
    """--stacks=all: the fork event carries the forking thread's stack"""
    ft, exe, _ = run_hang("nofp", options=("--json", "--stacks=all"))
    r = finish(ft)
    fork = r.one("fork", pid=r.report.int("pid"), child_pid=r.report.int("child_pid"))
    expect_line(fork["stack"], "fork_caller")
    expect_line(fork["stack"], "main")


@timeout(60)
def test_stacks_stripped_binary_module_offset():
    """A stripped binary: its frames are module+offset (never a made-up name), the
    libc frames around them are named, and the stacks reach the thread's start"""
    ft, exe, _ = run_hang("stripped")
    r = finish(ft)
    pid = r.report.int("pid")
    waiter = next(t for t in r.one("orphaned_threads", pid=pid)["threads"]
                  if t["tid"] == r.report.int("waiter_tid"))
    mine = [f for f in waiter["stack"] if f.get("module") == exe]
    expect(mine, f"no frame of {exe} in {waiter['stack']}")
    for f in mine:
        expect("func" not in f and re.fullmatch(r"0x[0-9a-f]+", f.get("offset", "")),
               f"a stripped frame with a name or without an offset: {f}")
    expect("start_thread" in funcs(waiter["stack"]), f"stops short: {funcs(waiter['stack'])}")


@timeout(60)
def test_stacks_off_copies_nothing():
    """--stacks=off: no event carries a stack"""
    ft, exe, _ = run_hang("nofp", options=("--json", "--stacks=off"))
    r = finish(ft)
    for e in r.events:
        threads = e.get("threads") if isinstance(e.get("threads"), list) else []
        expect("stack" not in e and "holder_stack" not in e and
               not any("stack" in t for t in threads), f"a stack under --stacks=off: {e}")


@timeout(60)
def test_stacks_diagnose_names_where_the_child_is_stuck():
    """diagnose of a hung child that nothing traced: its child_deadlock's stack, read from
    the kernel's saved registers and its memory, names child_blocks_here and fork_caller
    as eu-stack does (a frame-pointer build: /proc's sp and pc alone would stop early)"""
    exe = build("fp")
    t = harness.Target([exe])
    try:
        t.wait_report("child_pid")
        child = t.report.int("child_pid")
        r = harness.run_forktrace(["diagnose", "--json", str(child)], timeout=20)
        theirs = eu_stack(child)
    finally:
        harness.kill_group(t.report.int("pgid"))
    r.expect_rc(3)
    dl = r.one("child_deadlock", pid=child)
    expect_line(dl["stack"], "child_blocks_here")
    expect_line(dl["stack"], "fork_caller")
    expect_like_eu_stack("child", dl["stack"], theirs[child], os.path.basename(exe))


@timeout(60)
def test_stacks_cpp_names_demangled():
    """C++: each orphan's stack names ft::Waiter::waits_here(int) (demangled) at its line
    in stack_cpp.cpp, inside ft::Waiter::run(int) and the std::thread machinery"""
    r = harness.trace("stack_cpp")
    r.expect_rc(0)
    orphans = r.one("orphaned_threads", pid=r.report.int("pid"))["threads"]
    expect_eq("orphans", len(orphans), 2)
    for t in orphans:
        stack = t.get("stack", [])
        expect_line(stack, "ft::Waiter::waits_here(int)", "stack_cpp.cpp")
        expect_line(stack, "ft::Waiter::run(int)", "stack_cpp.cpp")
        expect(any("std::thread" in (f.get("func") or "") for f in stack),
               f"{t['comm']}: no std::thread frame: {funcs(stack)}")
        expect("start_thread" in funcs(stack), f"{t['comm']}: stops short: {funcs(stack)}")


@timeout(60)
def test_stacks_python_orphan_native_and_python_interleaved():
    """A Python orphan (the main thread, in os.read at module level while a daemon thread
    forks): native frames from libc's read, then its Python frame in place of the
    interpreter's loop, then the interpreter's own native frames out to main"""
    r = harness.trace("py_fork_named_daemon")
    r.expect_rc(0)
    pid = r.report.int("pid")
    main = next(t for t in r.one("orphaned_threads", pid=pid)["threads"] if t["tid"] == pid)
    langs = [f["lang"] for f in main.get("stack", [])]
    expect("python" in langs and langs[0] == "c", f"not native then Python: {main}")
    first_py = langs.index("python")
    py = main["stack"][first_py]
    expect(py.get("file", "").endswith("py_fork_named_daemon.py") and py.get("line", 0) > 0,
           f"the main thread's Python frame: {py}")
    expect("c" in langs[first_py:], f"no native frame outside the Python ones: {funcs(main['stack'])}")
    expect("_PyEval_EvalFrameDefault" not in funcs(main["stack"]),
           f"the interpreter's loop is still there: {funcs(main['stack'])}")


def marked_line(marker):
    """The line of stack_hazards.c that carries the comment /* MARKER */."""
    with open(SRC) as f:
        hits = [i + 1 for i, text in enumerate(f) if f"/* {marker} */" in text]
    expect_eq(f"lines marked {marker}", len(hits), 1)
    return hits[0]


@timeout(60)
def test_stacks_uprobe_mode_names_where_the_lock_was_taken():
    """--locks=uprobe: the held lock's holder_stack starts where the holder took it (the
    pthread_mutex_lock call's line in take_the_lock), then its callers at the fork"""
    ft, exe, _ = run_hang("nofp", options=("--json", "--locks=uprobe"))
    r = finish(ft)
    held = r.one("held_lock", pid=r.report.int("pid"), holder_tid=r.report.int("locker_tid"))
    expect_eq("held_lock.found_by", held["found_by"], "uprobe")
    top = held["holder_stack"][0]
    expect_eq("holder_stack[0] (where the lock was taken)",
              (top.get("func"), top.get("line")), ("take_the_lock", marked_line("ft:taken")))
    expect_line(held["holder_stack"], "locker_main")


@timeout(60)
def test_stacks_binary_only_in_another_mount_namespace():
    """A binary that exists only inside the traced process's mount namespace (a tmpfs mounted
    in an unshare -m): its frames are still named with file:line, read through /proc/PID/root,
    never from the host's file system, where that path does not exist"""
    if not shutil.which("unshare"):
        raise Skip("unshare is not installed (util-linux)")
    exe = build("nofp")
    inside = os.path.join(harness.workdir(), "private")
    os.makedirs(inside, exist_ok=True)
    target = os.path.join(inside, "stack_hazards_ns")
    script = f'mount -t tmpfs ft-private "{inside}" && cp "{exe}" "{target}" && exec "{target}"'
    ft = start_forktrace(["--json", "--", "unshare", "-m", "--propagation", "private",
                          "sh", "-c", script])
    ft.report.wait("child_pid", alive=ft.proc)
    ft.report.wait("pgid", alive=ft.proc)
    ft.wait_for("child_deadlock", pid=ft.report.int("child_pid"), timeout=10)
    expect(not os.path.exists(target), f"{target} is visible outside the namespace")
    r = finish(ft)
    waiter = next(t for t in r.one("orphaned_threads", pid=r.report.int("pid"))["threads"]
                  if t["tid"] == r.report.int("waiter_tid"))
    f = expect_line(waiter["stack"], "worker_waits_here")
    expect_eq("the frame's module", f.get("module"), "stack_hazards_ns")


@timeout(120)
def test_stacks_all_fork_storm_loses_nothing_uncounted():
    """--stacks=all on a storm of 500 forks from a 4-thread parent: every fork event carries
    the forking thread's stack, or its loss is counted in lost_events"""
    r = harness.trace("stack_storm", "500", options=("--json", "--stacks=all"), timeout=100)
    r.expect_rc(0)
    pid, forks = r.report.int("pid"), r.report.int("forks")
    lost = sum(e["count"] for e in r.events if e["event"] == "lost_events")
    with_stack = [e for e in r.where("fork", pid=pid) if "main" in funcs(e.get("stack", []))]
    expect(len(with_stack) + lost >= forks,
           f"{forks} forks: {len(with_stack)} fork events with the forker's stack, "
           f"{lost} lost counted")
    orphans = r.where("orphaned_threads", pid=pid)
    stacked = sum(1 for e in orphans for t in e["threads"] if t.get("stack"))
    expect(stacked + lost * 4 >= 4 * forks,
           f"{stacked} of {4 * forks} orphans with a stack, {lost} lost counted")


@timeout(60)
def test_stacks_bounds_threads_and_copy():
    """--stack-threads=1: one orphan of two is unwound; --stack-size=4KiB (one page) still
    holds a short C stack: fork_in_thread's names fork_caller"""
    ft, exe, _ = run_hang("nofp", "--from-thread",
                          options=("--json", "--stack-threads=1", "--stack-size=4KiB"))
    r = finish(ft)
    pid = r.report.int("pid")
    orphans = r.one("orphaned_threads", pid=pid)["threads"]
    expect_eq("orphans", len(orphans), 3)
    expect_eq("orphans with a stack", sum(1 for t in orphans if t.get("stack")), 1)
    expect_line(r.one("fork_in_thread", pid=pid)["stack"], "fork_caller")
