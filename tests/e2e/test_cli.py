"""The command line: exit statuses, usage errors, --fail-on, -o."""
import os

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
