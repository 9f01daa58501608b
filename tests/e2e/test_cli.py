"""The command line: exit statuses, usage errors, --fail-on, -o."""
import os

import harness
from harness import expect, expect_eq, parse_events, prog, run_forktrace, trace, workdir


def test_command_exit_status():
    """`-- COMMAND` returns COMMAND's exit status."""
    r = run_forktrace(["--json", "--", "/bin/sh", "-c", "exit 5"])
    r.expect_rc(5)
    expect(any(e["exit_code"] == 5 for e in r.where("exit")), "no exit event with exit_code 5")


def test_bad_option():
    r = run_forktrace(["--no-such-option", "--", "/bin/true"], check=False)
    r.expect_one_line_error(2)


def test_bad_grace():
    r = run_forktrace(["--grace=abc", "--", "/bin/true"], check=False)
    r.expect_one_line_error(2)


def test_fail_on_warning():
    """--fail-on=warning exits 3 once an orphaned_threads warning was seen."""
    r = trace("threaded_fork", options=("--json", "--fail-on=warning"))
    r.expect_rc(3)
    r.one("orphaned_threads", severity="warning")


def test_fail_on_error_ignores_warnings():
    r = trace("threaded_fork", options=("--json", "--fail-on=error"))
    r.expect_rc(0)
    r.one("orphaned_threads", severity="warning")


def test_fail_on_warning_clean_run():
    r = trace("plain_fork", options=("--json", "--fail-on=warning"))
    r.expect_rc(0)


def test_output_file():
    """-o FILE: the JSON goes to FILE, nothing to stdout."""
    path = os.path.join(workdir(), "out.json")
    r = run_forktrace(["--json", "-o", path, "--", *prog("threaded_fork")])
    r.expect_rc(0)
    expect_eq("stdout", r.stdout, "")
    with open(path) as f:
        events, problems = parse_events(f.read())
    expect(not problems, "the -o file breaks SPEC.md:\n  " + "\n  ".join(problems[:10]))
    parent, child = r.report.int("pid"), r.report.int("child")
    expect(any(e["event"] == "fork" and e["pid"] == parent and e["child_pid"] == child for e in events),
           f"no fork event {parent} -> {child} in {path}")
    expect(any(e["event"] == "orphaned_threads" and e["child_pid"] == child for e in events),
           f"no orphaned_threads event for {child} in {path}")


def _fds(path):
    with open(path) as f:
        return sorted(f.read().split())


def test_command_gets_no_extra_descriptors():
    """-- COMMAND inherits exactly the descriptors forktrace was given, none of its own."""
    here = os.path.join(workdir(), "direct.fds")
    there = os.path.join(workdir(), "traced.fds")
    script = 'ls /proc/$$/fd > "$1"'
    import subprocess
    subprocess.run(["/bin/sh", "-c", script, "sh", here], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = run_forktrace(["--json", "--", "/bin/sh", "-c", script, "sh", there])
    r.expect_rc(0)
    expect_eq("descriptors of the command", _fds(there), _fds(here))


def test_command_starts_with_default_signals():
    """-- COMMAND starts with every signal at its default and none blocked: not with the
    SIGPIPE that forktrace ignores for itself (a `yes | head -1` in it would never end)."""
    r = trace("signal_state")
    r.expect_rc(0)
    expect_eq("signals the command ignores", r.report.get("ignored"), "")
    expect_eq("signals the command blocks", r.report.get("blocked"), "")


def test_command_runs_as_sudo_user():
    """Under sudo, COMMAND runs as the user who ran sudo, not as root."""
    out = os.path.join(workdir(), "id.txt")
    os.chmod(workdir(), 0o777)
    r = run_forktrace(["--json", "--", "/bin/sh", "-c", 'id -u > "$1"', "sh", out],
                      env={"SUDO_USER": "nobody", "SUDO_UID": "65534", "SUDO_GID": "65534"})
    r.expect_rc(0)
    with open(out) as f:
        expect_eq("uid of the command", f.read().strip(), "65534")


def test_human_output_sanitizes_names():
    """A thread name with terminal escapes reaches the screen as text, never as escapes."""
    r = trace("threaded_fork", "exit", "\x1b]0;pwned\x07", options=("-v",))
    r.expect_rc(0)
    expect("\x1b" not in r.stdout and "\x07" not in r.stdout, "raw escape bytes in human output")
    expect("\\x1b]0;pwned\\x07" in r.stdout, "the sanitized name is missing:\n" + r.stdout)
    expect("forktrace summary: 1 fork" in r.stdout, "no summary line:\n" + r.stdout)


def test_check_reports_support():
    r = run_forktrace(["check"])
    r.expect_rc(0)
    for what in ("kernel BTF", "tp_btf tracepoints", "uprobes"):
        expect(what in r.stdout, f"check says nothing of {what}:\n{r.stdout}")


def test_check_json_is_one_object():
    """check --json: one JSON object, each check with name, ok and detail, and the overall verdict."""
    import json
    import subprocess
    r = run_forktrace(["check", "--json"], check=False)   # not events: no event schema
    r.expect_rc(0)
    lines = r.stdout.splitlines()
    expect_eq("lines on stdout", len(lines), 1)
    doc = json.loads(lines[0])
    expect(doc.get("ok") is True, f"overall ok is not true: {doc}")
    checks = {c["name"]: c for c in doc["checks"]}
    for c in doc["checks"]:
        expect(set(c) == {"name", "ok", "detail"} and type(c["ok"]) is bool and isinstance(c["detail"], str),
               f"malformed check: {c}")
    for name in ("root", "kernel_btf", "bpf_load", "uprobes"):
        expect(name in checks and checks[name]["ok"] is True, f"check {name} missing or failing: {doc}")
    # not root: the same object, saying so, and the human form's exit status
    p = subprocess.run(["/usr/sbin/runuser", "-u", "nobody", "--", harness.FORKTRACE, "check", "--json"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)
    expect_eq("exit status as nobody", p.returncode, 1)
    doc = json.loads(p.stdout)
    expect(doc["ok"] is False, f"overall ok is not false as nobody: {doc}")
    expect(not {c["name"]: c for c in doc["checks"]}["root"]["ok"], f"root said ok as nobody: {doc}")


def test_not_root_is_one_clear_line():
    """Run by a user who is not root: exit 1, one line saying to use sudo."""
    import subprocess
    p = subprocess.run(["/usr/sbin/runuser", "-u", "nobody", "--", harness.FORKTRACE, "--json", "-a"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)
    expect_eq("exit status", p.returncode, 1)
    lines = p.stderr.strip().splitlines()
    expect(len(lines) == 1 and "sudo" in lines[0], f"expected one line naming sudo, got:\n{p.stderr}")
    expect_eq("stdout", p.stdout, "")


def test_duration_stops_tracing():
    """-d: tracing a process that runs on stops after the duration, exit 0, with a detach event."""
    r = run_forktrace(["--json", "-d", "300ms", "--", "/bin/sleep", "30"])
    r.expect_rc(128 + 15)  # the command we started is ended with us (SIGTERM)
