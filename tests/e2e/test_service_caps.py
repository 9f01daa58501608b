"""The fleet unit's capabilities are exactly what `forktrace -a` needs.

forktrace -a runs with the bounding set of dist/forktrace.service (setpriv, as
root: what systemd's CapabilityBoundingSet= leaves a root service), then with
each of those capabilities taken away, while two hazards happen: a C program of
root's forks while a worker holds a mutex (the scan finds it held), and a Python
program of nobody's forks while a worker holds a threading.Lock (its child
blocks on it: a deadlock named from the child's memory).
"""
import os
import re
import shutil
import subprocess

import harness
from harness import Skip, Target, expect, expect_eq, start, start_forktrace, timeout, workdir

UNIT = os.path.join(harness.ROOT, "dist", "forktrace.service")
WORKLOAD = os.path.join(harness.ROOT, "examples", "fork_hazard.py")


def unit_caps():
    with open(UNIT) as f:
        m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
    expect(m, "the unit has no CapabilityBoundingSet=")
    return m[1].split()


def bounded(caps):
    if not shutil.which("setpriv"):
        raise Skip("setpriv is not installed (apt-get install util-linux)")
    return ["setpriv", "--bounding-set=-all" + "".join(",+" + c[4:].lower() for c in caps),
            "--inh-caps=-all", "--"]


def nobodys_python():
    """examples/fork_hazard.py as nobody: its child blocks on a threading.Lock for 3 s."""
    os.chmod(workdir(), 0o755)
    script = os.path.join(workdir(), "fork_hazard.py")
    shutil.copy(WORKLOAD, script)
    os.chmod(script, 0o644)
    return Target(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                   harness.PYTHON, script])


def what_forktrace_a_sees(caps):
    """Run both hazards under forktrace -a with these capabilities: what it found."""
    ft = start_forktrace(["-a", "--json"], wrapper=bounded(caps))
    harness.wait_until(lambda: ft.proc.poll() is not None or harness.bpf_links_of(ft.pid), 20,
                       "forktrace -a attaching")
    if ft.proc.poll() is not None:
        r = ft.finish(check=False)
        return {"failed": r.rc, "stderr": r.stderr.strip()}
    c, py = start("hold_mutex"), nobodys_python()
    c.report.wait("child_pid")
    c_child = c.report.int("child_pid")
    py_child = ft.wait_for("fork", pid=py.pid, timeout=15)["child_pid"]
    # each outcome is decided once the event that closes it is out: the C child's scan, and
    # the Python child's exit (its alarm ends it after 3 s; a deadlock comes within 1 s of blocking)
    scan = ft.wait_for("scan", child_pid=c_child, timeout=15)
    ft.wait_for("exit", pid=py_child, timeout=15)
    held = ft.where("held_lock", child_pid=c_child, found_by="scan")
    deadlock = ft.where("child_deadlock", pid=py_child)
    ft.interrupt()
    ft.finish(check=False)
    return {"scan": scan.get("reason", "complete"), "held_lock": len(held),
            "python_deadlock": [(d["reason"], d.get("lock_object")) for d in deadlock]}


@timeout(120)
def test_unit_capabilities_are_enough_and_each_is_needed():
    caps = unit_caps()
    expect_eq("the unit's capabilities", sorted(caps),
              ["CAP_BPF", "CAP_DAC_READ_SEARCH", "CAP_PERFMON", "CAP_SYS_PTRACE"])
    # the Lock the example's worker holds is found held at the fork: its deadlock is certain
    full = {"scan": "complete", "held_lock": 1, "python_deadlock": [("held_at_fork", "threading.Lock")]}
    expect_eq("forktrace -a with the unit's capabilities", what_forktrace_a_sees(caps), full)

    without = {cap: what_forktrace_a_sees([c for c in caps if c != cap]) for cap in caps}
    for cap in ("CAP_BPF", "CAP_PERFMON"):
        expect_eq(f"exit status without {cap} (nothing loads)", without[cap].get("failed"), 1)
    # root's processes have every capability: reading their memory takes CAP_SYS_PTRACE
    expect_eq("the C child's scan without CAP_SYS_PTRACE", without["CAP_SYS_PTRACE"]["scan"], "unreadable")
    # nobody's /proc/PID/mem is 0600, nobody's: reading it takes CAP_DAC_READ_SEARCH
    got = without["CAP_DAC_READ_SEARCH"]
    expect_eq("the C child without CAP_DAC_READ_SEARCH", (got["scan"], got["held_lock"]), ("complete", 1))
    expect_eq("nobody's deadlock without CAP_DAC_READ_SEARCH", got["python_deadlock"], [])
