"""forktrace traced by forktrace: it must not have the hazard it reports."""
import harness
from harness import run_forktrace


def test_command_forked_before_any_thread():
    """With --influx the exporter runs in a thread of its own; the COMMAND must
    be forked before that thread exists, or the held child would run NSS and
    malloc (initgroups) with the exporter's locks possibly held."""
    inner = [harness.FORKTRACE, "--json", "-o", "/dev/null",
             "--influx=http://127.0.0.1:9", "--influx-db=none", "-d", "300ms",
             "--", "/bin/true"]
    r = run_forktrace(["--json", "--", *inner], timeout=30)
    # the inner forktrace's fork of its COMMAND, seen from outside
    forks = [e for e in r.where("fork") if e["comm"] == "forktrace"]
    harness.expect(forks, "the outer forktrace saw no fork of the inner one:\n" + r.stdout[-2000:])
    harness.expect_eq("threads of forktrace when it forked its COMMAND", forks[0]["threads"], 1)
    r.none("orphaned_threads")
