"""Faults, hostile input and broken environments: forktrace never hangs, says what it lost, and
lets no input through. Each scenario checks the exit status, the one line on stderr, that
forktrace ended by itself within a bound, and that none of its BPF objects outlived it."""
import os
import re
import signal
import subprocess
import time

import harness
from harness import (KernelObjects, expect, expect_eq, fail, prog, run_forktrace, start,
                     start_forktrace, timeout, wait_until, workdir)


def run_while_stopped(ft, go, root):
    """forktrace stopped (SIGSTOP) while the command, released by the file go, runs to its
    end: whatever the kernel side writes meanwhile piles up unread."""
    os.kill(ft.pid, signal.SIGSTOP)
    try:
        open(go, "w").close()
        ft.report.wait("done", timeout=60)
        wait_until(lambda: _state(root) in ("Z", None), 10, "the command ending")
    finally:
        os.kill(ft.pid, signal.SIGCONT)


def watched(args, env=None):
    """forktrace started in the background, its BPF objects sampled while it runs."""
    ft = start_forktrace(args, env)
    return ft, KernelObjects(ft)


def stderr_lines(r):
    return [ln for ln in r.stderr.splitlines() if ln.strip()]


# ---------------------------------------------------------------- lost exits

@timeout(120)
def test_lost_exits_do_not_hang():
    """forktrace is stopped while its command fills the ring buffer (600,000 renames) and then
    ends with its 20 children: their exit records are lost. Once continued, forktrace counts
    the loss, learns from /proc that they are gone, and ends by itself with the command's
    status; the command is reaped, not left a zombie."""
    go = os.path.join(workdir(), "go")
    ft, kobj = watched(["--json", "--", *prog("lost_exits", go)])
    ft.report.wait("ready", timeout=15, alive=ft.proc)
    root = ft.report.int("pid")
    ft.wait_for("fork", pid=root, count=20, timeout=15)
    run_while_stopped(ft, go, root)
    t0 = time.monotonic()
    r = ft.finish(timeout=20, check=False)
    expect(time.monotonic() - t0 < 10, "forktrace took more than 10 s to end after the loss")
    r.expect_rc(0)
    lost = r.where("lost_events", what="ring_buffer")
    expect(lost, "no lost_events for the ring buffer:\n" + r.stdout[-2000:])
    # every record beyond the ring's 16 MiB was counted (a record takes 48 bytes at least),
    # and nothing more than the command made (600,000 renames, 20 forks and exits, its exit)
    counted = sum(e["count"] for e in lost)
    expect(600000 - (16 << 20) // 48 <= counted <= 600000 + 41,
           f"lost_events counted {counted} records")
    expect(_state(root) is None, f"the command {root} was left behind (state {_state(root)})")
    kobj.expect_released()


@timeout(120)
def test_lost_forks_are_taken_up_from_the_traced_map():
    """Forks made while the ring buffer is full (forktrace stopped): their records are lost,
    but the kernel traces the children. Once continued, forktrace takes each up from its
    traced map (an attach event), keeps tracing while they run although the command is gone,
    and ends by itself once they have exited."""
    go, end = os.path.join(workdir(), "go"), os.path.join(workdir(), "end")
    ft, kobj = watched(["--json", "--", *prog("lost_forks", go, end)])
    ft.report.wait("ready", timeout=15, alive=ft.proc)
    root = ft.report.int("pid")
    run_while_stopped(ft, go, root)
    children = ft.report.ints("child")
    try:
        for child in children:
            ft.wait_for("attach", pid=child, timeout=10)
        time.sleep(0.5)
        expect(ft.proc.poll() is None, "forktrace ended while the children it lost still run")
    finally:
        open(end, "w").close()
    r = ft.finish(timeout=20, check=False)
    r.expect_rc(0)
    expect(r.where("lost_events", what="ring_buffer"), "no lost_events for the ring buffer")
    for child in children:
        r.one("exit", pid=child)
    kobj.expect_released()


def _state(pid):
    """The state letter of /proc/PID/stat, None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


# ---------------------------------------------------------------- the attach race

@timeout(90)
def test_target_ending_during_attach():
    """`forktrace -p PID` of a process that ends 20-60 ms after it started (reaped at once, or
    left a zombie by its parent): forktrace ends by itself within 5 s, either as not found
    (status 1, one line) or after tracing it (status 0)."""
    for reap in (True, False):
        for delay in ("0.02", "0.04", "0.06"):
            p = subprocess.Popen(["sleep", delay])
            if reap:
                import threading
                threading.Thread(target=p.wait, daemon=True).start()
            ft, kobj = watched(["--json", "-p", str(p.pid)])
            r = ft.finish(timeout=5, check=False)
            p.wait()
            what = f"(sleep {delay}, {'reaped' if reap else 'a zombie'})"
            if r.rc == 1:
                lines = stderr_lines(r)
                expect(len(lines) == 1, f"{what}: expected one line on stderr: {r.stderr}")
                expect("ended before forktrace could attach" in lines[0] or "no process" in lines[0],
                       f"{what}: unexpected message: {lines[0]}")
            else:
                expect_eq(f"{what} forktrace exit status", r.rc, 0)
                for a in r.where("attach"):
                    expect(a["comm"], f"{what}: an attach event with no comm: {a}")
            kobj.expect_released()


# ---------------------------------------------------------------- what -p names

@timeout(30)
def test_p_thread_traces_its_process():
    """-p TID of a worker thread traces its process, with a one-line notice, and sees the
    process's forks."""
    target = start("attach_target")
    target.wait_report("ready")
    worker = target.report.threads("thread")[0]["tid"]
    ft, kobj = watched(["--json", "-p", str(worker)])
    ft.wait_for("attach", pid=target.pid)
    target.proceed()
    target.wait_report("forked")
    ft.wait_for("fork", pid=target.pid, count=5)
    expect_eq("target's exit status", target.finish(), 0)
    r = ft.finish(timeout=10)
    r.expect_rc(0)
    lines = stderr_lines(r)
    expect_eq("stderr", lines, [f"forktrace: {worker} is a thread of process {target.pid}:"
                                f" tracing process {target.pid}"])
    kobj.expect_released()


def test_p_kernel_thread_refused():
    """-p 2 (kthreadd) is refused: status 1, one line."""
    r = run_forktrace(["--json", "-p", "2"], check=False)
    r.expect_one_line_error(1)
    expect("kernel thread" in r.stderr, f"unexpected message: {r.stderr}")


def test_p_limit_is_one_short_line():
    """More than 64 pids: status 2 and one short line that states the limit (not the list)."""
    r = run_forktrace(["--json", "-p", ",".join(str(i) for i in range(1000, 1100))], check=False)
    r.expect_one_line_error(2)
    expect("64" in r.stderr and len(r.stderr) < 200, f"unexpected message: {r.stderr}")


@timeout(30)
def test_p_duplicates_attach_once():
    """-p X,X (and a thread of X beside X) attaches once."""
    target = start("attach_target")
    target.wait_report("ready")
    worker = target.report.threads("thread")[0]["tid"]
    ft, kobj = watched(["--json", "-p", f"{target.pid},{target.pid},{worker}"])
    ft.wait_for("attach", pid=target.pid)
    target.proceed()
    target.wait_report("forked")
    expect_eq("target's exit status", target.finish(), 0)
    r = ft.finish(timeout=10)
    r.expect_rc(0)
    expect_eq("attach events", len(r.where("attach")), 1)
    expect_eq("fork events", len(r.where("fork")), 5)
    kobj.expect_released()


# ---------------------------------------------------------------- output that cannot be written

@timeout(30)
def test_output_to_full_device_fails():
    """-o /dev/full, and stdout on /dev/full: status 1 and one line naming the error."""
    for args, stdout in ((["-o", "/dev/full", "--json"], None), (["--json"], "/dev/full")):
        r = _run_raw([*args, "--", *prog("plain_fork")], stdout=stdout)
        expect_eq(f"{args} exit status", r.returncode, 1)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        expect(len(lines) == 1 and "No space left on device" in lines[0],
               f"{args}: expected one line naming ENOSPC, got: {r.stderr}")


def test_check_diagnose_help_to_full_device_fail():
    """check, diagnose and --help with stdout on /dev/full: status 1 and one line."""
    target = start("attach_target")
    target.wait_report("ready")
    for args in (["check"], ["diagnose", str(target.pid)], ["--help"]):
        r = _run_raw(args, stdout="/dev/full")
        expect_eq(f"{args} exit status", r.returncode, 1)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        expect(len(lines) == 1 and "cannot write" in lines[0], f"{args}: unexpected stderr: {r.stderr}")
    target.proceed()
    target.finish()


def test_closed_stdout_is_refused():
    """stdout closed: status 1 and one line at start, before anything is traced."""
    r = _run_raw(["--json", "--", *prog("plain_fork")], close_stdout=True)
    expect_eq("exit status", r.returncode, 1)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    expect(len(lines) == 1 and "stdout is closed" in lines[0], f"unexpected stderr: {r.stderr}")


@timeout(30)
def test_reader_going_away_ends_tracing():
    """`forktrace -p PID --json | head -1`: the reader goes away; forktrace ends by itself
    (EPIPE) with status 0, no message, and leaves nothing in the kernel."""
    target = start("attach_target")
    target.wait_report("ready")
    err_path = os.path.join(workdir(), "epipe.err")
    with open(err_path, "wb") as err:
        ft = subprocess.Popen([harness.FORKTRACE, "--json", "-p", str(target.pid)],
                              stdout=subprocess.PIPE, stderr=err, start_new_session=True)
    holder = type("FT", (), {"proc": ft, "pid": ft.pid})
    kobj = KernelObjects(holder)
    first = ft.stdout.readline()
    expect(b'"attach"' in first, f"first line is no attach event: {first!r}")
    ft.stdout.close()                             # the reader goes away
    target.proceed()                              # 5 forks: events that cannot be written
    target.wait_report("forked")
    try:
        rc = ft.wait(timeout=10)
    except subprocess.TimeoutExpired:
        harness.kill_group(ft)
        fail("forktrace did not end within 10 s of its reader going away")
    expect_eq("exit status", rc, 0)
    with open(err_path) as f:
        expect_eq("stderr", f.read(), "")
    target.finish()
    kobj.expect_released()


def _run_raw(args, stdout=None, close_stdout=False, env=None):
    """forktrace ARGS with stdout on a file, or closed; stderr captured."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    try:
        return subprocess.run([harness.FORKTRACE, *args], stdin=subprocess.DEVNULL,
                              stdout=None if close_stdout else out, stderr=subprocess.PIPE,
                              text=True, timeout=20, env=harness._clean_env(env),
                              preexec_fn=(lambda: os.close(1)) if close_stdout else None)
    finally:
        if stdout:
            out.close()


# ---------------------------------------------------------------- environment input

def test_influx_token_with_control_characters_refused():
    """INFLUX_TOKEN with a line break (header injection), or a trailing newline, is refused:
    status 2, one line, the token not echoed."""
    for token in ("abc\r\nX-Injected-Token: yes", "abc\n"):
        r = _run_raw(["--influx=http://127.0.0.1:9", "--influx-org=o", "--influx-bucket=b",
                      "--json", "--", "/bin/true"], env={"INFLUX_TOKEN": token})
        expect_eq(f"exit status for {token!r}", r.returncode, 2)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        expect(len(lines) == 1 and "INFLUX_TOKEN" in lines[0], f"unexpected stderr: {r.stderr}")
        expect("Injected" not in r.stderr and "abc" not in r.stderr, "the token was echoed")
    r = _run_raw(["--influx=http://127.0.0.1:9", "--influx-db=d", "--influx-user=a\r\nb",
                  "--json", "--", "/bin/true"], env={"INFLUX_PASSWORD": "x"})
    expect_eq("exit status for a user name with a line break", r.returncode, 2)


# ---------------------------------------------------------------- every thread counted

@timeout(60)
def test_many_threads_are_counted_in_json():
    """A parent with 2,000 threads forks, then exits with them running: orphaned_threads and
    exit_with_threads list what they list and count the rest (threads_omitted): together
    every thread."""
    r = harness.trace("many_threads", "2000", timeout=50, check=False)
    expect_eq("forktrace exit status", r.rc, 3)
    pid, n = r.report.int("pid"), r.report.int("threads")
    for kind in ("orphaned_threads", "exit_with_threads"):
        ev = r.one(kind, pid=pid)
        listed = len(ev["threads"])
        expect_eq(f"{kind}: threads listed + threads_omitted", listed + ev.get("threads_omitted", 0), n)
    r.none("lost_events")


# ---------------------------------------------------------------- signals

# a command that reports its pid and sleeps
SLEEPER = ["/bin/sh", "-c", 'echo "pid=$$" >> "$FT_REPORT"; exec sleep 30']


@timeout(30)
def test_sighup_detaches_and_hangs_up_the_command():
    """SIGHUP detaches like SIGTERM (the human summary is printed) and the command gets SIGHUP
    as from a shell: forktrace exits with 128+1."""
    ft, kobj = watched(["--", *SLEEPER])
    ft.report.wait("pid", timeout=15, alive=ft.proc)
    ft.interrupt(signal.SIGHUP)
    r = ft.finish(timeout=10, check=False)
    expect_eq("forktrace exit status", r.rc, 128 + signal.SIGHUP)
    expect("forks" in r.stdout.lower(), f"no summary on stdout:\n{r.stdout[-1000:]}")
    kobj.expect_released()


@timeout(30)
def test_command_not_left_behind_when_forktrace_is_killed():
    """forktrace killed by SIGKILL: its command gets SIGTERM (PR_SET_PDEATHSIG), not left running."""
    ft, kobj = watched(["--json", "--", *SLEEPER])
    ft.report.wait("pid", timeout=15, alive=ft.proc)
    cmd = ft.report.int("pid")
    os.kill(ft.pid, signal.SIGKILL)
    ft.proc.wait(timeout=10)
    wait_until(lambda: _state(cmd) in (None, "Z"), 5, f"the command {cmd} ending")
    kobj.expect_released()


FORKING_SLEEPER = ["/usr/bin/python3", "-c", """
import os, time
for i in range(3):
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
    with open(os.environ["FT_REPORT"], "a") as f:
        f.write(f"child={child}\\n")
time.sleep(60)
"""]


@timeout(30)
def test_sigint_reaches_the_commands_children():
    """SIGINT to forktrace while its command's forked children run: the command and the
    children in its process group get SIGINT, as from a shell's Ctrl-C; none is left behind."""
    ft, kobj = watched(["--json", "--", *FORKING_SLEEPER])
    ft.report.wait("child", count=3, timeout=15, alive=ft.proc)
    children = ft.report.ints("child")
    for child in children:
        ft.wait_for("fork", child_pid=child, timeout=10)
    ft.interrupt(signal.SIGINT)
    try:
        ft.proc.wait(timeout=10)
        # before finish(), which kills what is left of forktrace's process group
        for child in children:
            wait_until(lambda: _state(child) in (None, "Z"), 5,
                       f"the command's child {child} ending")
    finally:
        r = ft.finish(timeout=10, check=False)
    expect(r.rc != 0, f"forktrace exit status {r.rc}: the command was not interrupted")
    kobj.expect_released()


# ---------------------------------------------------------------- uprobe mode

@timeout(60)
def test_uprobe_no_glibc_notice_only_when_true():
    """--locks=uprobe: 200 children that exit at once say nothing about glibc; a static program
    (ldconfig), run twice, is said once."""
    r = harness.trace("fork_storm", "200", options=("--json", "--locks=uprobe"), timeout=50)
    r.expect_rc(0)
    expect("glibc" not in r.stderr, f"a notice about glibc for dynamic children:\n{r.stderr}")
    # a static program that lives past forktrace's wait for its libc, run twice
    src = os.path.join(workdir(), "static_nap.c")
    exe = os.path.join(workdir(), "static_nap")
    with open(src, "w") as f:
        f.write("#include <time.h>\nint main(void){struct timespec t={1,500000000};"
                "nanosleep(&t,0);return 0;}\n")
    c = subprocess.run(["cc", "-static", "-o", exe, src], capture_output=True, text=True,
                       timeout=60)
    if c.returncode != 0:
        raise harness.Skip(f"cannot link a static program: {c.stderr.strip()[:200]}")
    r = harness.run_forktrace(["--json", "--locks=uprobe", "--", "/bin/sh", "-c",
                               f"{exe}; {exe}"], timeout=30)
    r.expect_rc(0)
    expect_eq("notices about glibc", r.stderr.count("maps no dynamic glibc"), 1)


# ---------------------------------------------------------------- a server that never answers

@timeout(40)
def test_influx_points_with_no_answer_are_unknown_not_dropped():
    """An InfluxDB that takes every request and never answers (hung): the points sent are
    counted as unknown (the server may hold them), not as dropped; forktrace still ends
    within its 5 s flush deadline."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held = []

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)                     # read nothing, answer nothing
    threading.Thread(target=accept, daemon=True).start()
    try:
        t0 = time.monotonic()
        r = run_forktrace([f"--influx=http://127.0.0.1:{srv.getsockname()[1]}", "--influx-db=ft",
                           "--json", "--", *prog("plain_fork")], timeout=30)
        expect(time.monotonic() - t0 < 20, "forktrace took more than 20 s to end")
    finally:
        srv.close()
        for c in held:
            c.close()
    r.expect_rc(0)
    m = re.search(r"influx: (\d+) points? delivered, (\d+) retried, (\d+) dropped"
                  r"(?:, (\d+) unknown)?", r.stderr)
    expect(m, f"no influx summary on stderr:\n{r.stderr}")
    delivered, dropped, unknown = int(m.group(1)), int(m.group(3)), int(m.group(4) or 0)
    expect_eq("points delivered", delivered, 0)
    expect_eq("points dropped", dropped, 0)
    expect_eq("points of unknown fate", unknown, len(r.events))


# ---------------------------------------------------------------- names that are not UTF-8

RENAMED_FORKER = ["/usr/bin/python3", "-c", """
import ctypes, os
ctypes.CDLL(None).prctl(15, b"\\xffA\\xc3\\xbfA")    # PR_SET_NAME: an invalid byte, then U+00FF
child = os.fork()
if child == 0:
    os._exit(0)
os.waitpid(child, 0)
"""]


def test_json_names_round_trip_their_bytes():
    """A comm with a byte that is not UTF-8 (0xff) beside the character U+00FF: in --json the two
    differ, and the name decodes back to its very bytes with Python's surrogateescape."""
    r = run_forktrace(["--json", "--", *RENAMED_FORKER])
    r.expect_rc(0)
    forks = r.where("fork")
    expect(forks, "no fork event")
    comm = forks[-1]["comm"]
    expect_eq("comm's bytes", comm.encode("utf-8", "surrogateescape"), b"\xffA\xc3\xbfA")
