"""--influx: every event reaches a real InfluxDB 1.x, and the 2.x/3.x write API.

The trigger is a threaded Python program whose threads have names with the
characters line protocol must escape (comma, space, equals, quote, backslash);
it forks once, or until a stop file appears. Each scenario compares what
InfluxDB (or the stand-in listener) received with forktrace's own --json
output of the same run: same events, tags, fields and timestamps.
"""
import calendar
import json
import os
import re
import socket
import time

from harness import (PYTHON, expect, expect_eq, fail, run_forktrace, start_forktrace, timeout,
                     workdir)
from influxd import Influxd, Listener, free_port

# argv: MAIN_NAME WORKER_NAME EXIT_STATUS [STOP_FILE]
TRIGGER = r'''
import ctypes, os, sys, threading, time
libc = ctypes.CDLL(None)
def set_name(name):
    libc.prctl(15, ctypes.c_char_p(name.encode()), 0, 0, 0)   # PR_SET_NAME
main_name, worker_name, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
stop_file = sys.argv[4] if len(sys.argv) > 4 else None
set_name(main_name)
ready, done = threading.Event(), threading.Event()
def worker():
    set_name(worker_name)
    ready.set()
    done.wait()
threading.Thread(target=worker).start()
ready.wait()
while True:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    if not stop_file or os.path.exists(stop_file):
        break
    time.sleep(0.05)
done.set()
sys.exit(status)
'''
MAIN_NAME = "ft, main=1"
WORKER_NAME = 'w, a=1 "q\\'
HOST = socket.gethostname()
COMMON = ("time", "event", "severity", "pid", "comm")


def trigger(exit_status=0, stop_file=None, main_name=MAIN_NAME):
    return [PYTHON, "-c", TRIGGER, main_name, WORKER_NAME, str(exit_status)] + ([stop_file] if stop_file else [])


# ---------------------------------------------------------------- the schema of docs/influx.md, in Python

def ns_of(rfc3339):
    """"2026-11-25T13:23:52.826423994Z" -> integer nanoseconds."""
    secs, frac = rfc3339.rstrip("Z").replace("+00:00", "").split(".")
    return calendar.timegm(time.strptime(secs, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(frac.ljust(9, "0"))


def _visible(ch):
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{ord(ch):02x}")


def stored_string(s):
    """A string field as InfluxDB stores it: control characters become text."""
    return "".join(_visible(c) if ord(c) < 0x20 or ord(c) == 0x7f else c for c in s)


def stored_tag(s):
    """A tag value as InfluxDB stores it: control characters and backslashes become text."""
    return "".join(_visible(c) if ord(c) < 0x20 or ord(c) == 0x7f or c == "\\" else c for c in s)


def is_thread_list(v):
    return isinstance(v, list) and bool(v) and all(isinstance(t, dict) and "tid" in t for t in v)


def is_stack(v):
    return isinstance(v, list) and all(isinstance(f, dict) and "lang" in f for f in v)


def frame_text(f):
    """A frame as line protocol writes it: "func file:line", "module+0xoff"."""
    if "func" in f:
        s = f["func"]
    elif "module" in f:
        s = f["module"] + ("+" + f["offset"] if "offset" in f else "")
    else:
        s = "?"
    if "file" in f:
        s += " " + f["file"] + (f":{f['line']}" if "line" in f else "")
    return s


def thread_entry(t):
    return f"{t['tid']}:{t['comm']}" + (f' "{t["name"]}"' if t.get("name") else "")


def thread_stacks(v, sep):
    """KEY_stacks: "TID:" and its frames, thread after thread (sep is a newline
    as line protocol writes it, in the form the caller compares)."""
    return (sep * 2).join(f"{t['tid']}:" + "".join(sep + frame_text(f) for f in t["stack"])
                          for t in v if t.get("stack"))


def expected_point(ev):
    """JSON event -> {tag or field: stored value} (everything but time)."""
    p = {"event": ev["event"], "severity": ev["severity"], "host": HOST, "pid": ev["pid"]}
    if ev["comm"]:
        p["comm"] = stored_tag(ev["comm"])
    for k, v in ev.items():
        if k in COMMON:
            continue
        if is_thread_list(v):
            p[k] = len(v)
            p[k + "_list"] = stored_string(",".join(thread_entry(t) for t in v))
            if any(t.get("stack") for t in v):
                p[k + "_stacks"] = stored_string(thread_stacks(v, "\n"))
        elif is_stack(v):
            p[k] = stored_string("\n".join(frame_text(f) for f in v))
        else:
            p[k] = stored_string(v) if isinstance(v, str) else v
    return p


def match_points(events, points):
    """Each JSON event must be exactly one point: same tags and fields, and its
    timestamp, or up to a microsecond later (events of one series that share a
    nanosecond are spread out so that InfluxDB keeps them all)."""
    left = list(points)
    for ev in events:
        want, t = expected_point(ev), ns_of(ev["time"])
        found = [p for p in left if 0 <= p["time"] - t < 1000 and {k: v for k, v in p.items() if k != "time"} == want]
        if not found:
            near = [p for p in left if p.get("event") == ev["event"] and p.get("pid") == ev["pid"]]
            fail(f"event not in InfluxDB: {ev}\n  expected point: {want} at {t}\n  "
                 f"points of that event and pid: {near[:3]}")
        left.remove(min(found, key=lambda p: p["time"] - t))
    expect(not left, f"{len(left)} points in InfluxDB that forktrace did not print: {left[:3]}")


def expected_lines(events):
    """JSON events -> the line protocol forktrace must send, in order."""
    def key(k):
        return re.sub(r"([,= ])", r"\\\1", k)

    def tag(v):
        return key(stored_tag(v))

    def string(v):
        return '"' + stored_string(v.replace("\\", "\\\\").replace('"', '\\"')) + '"'

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return f"{v}i"
        return string(v)

    seen, lines = set(), []
    for ev in events:
        tags = [("comm", ev["comm"]), ("event", ev["event"]), ("host", HOST), ("severity", ev["severity"])]
        fields = [("pid", ev["pid"])]
        for k, v in ev.items():
            if k in COMMON:
                continue
            if is_thread_list(v):
                fields += [(k, len(v)), (k + "_list", ",".join(thread_entry(t) for t in v))]
                if any(t.get("stack") for t in v):
                    fields.append((k + "_stacks", thread_stacks(v, "\n")))
            elif is_stack(v):
                fields.append((k, "\n".join(frame_text(f) for f in v)))
            else:
                fields.append((k, v))
        t, series = ns_of(ev["time"]), (ev["event"], ev["severity"], ev["comm"])
        while (series, t) in seen:
            t += 1
        seen.add((series, t))
        lines.append("forktrace" + "".join(f",{k}={tag(v)}" for k, v in tags if v) + " "
                     + ",".join(f"{key(k)}={value(v)}" for k, v in fields) + f" {t}")
    return lines


def forktrace_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("forktrace:")]


# ---------------------------------------------------------------- scenarios

@timeout(60)
def test_influx_v1_every_event_arrives():
    """Every --json event is a point in InfluxDB 1.x: tags, fields, timestamp."""
    with Influxd() as db:
        db.create_database("ft")
        r = run_forktrace(["--json", f"--influx={db.url}", "--influx-db=ft", "--", *trigger()], timeout=30)
        r.expect_rc(0)
        expect(r.events, "forktrace printed no event")
        expect_eq("forktrace's complaints on stderr", forktrace_lines(r.stderr), [])
        points = db.points("ft")
        match_points(r.events, points)
        expect_eq("tag keys", db.tag_keys("ft"), {"comm", "event", "host", "severity"})
        types = db.field_types("ft")
        expect_eq("type of pid", types.get("pid"), "integer")
        expect_eq("type of threads", types.get("threads"), "integer")
        # the escaping went through a real server: names with , = space " and \
        expect(any(p.get("comm") == MAIN_NAME for p in points), f"no point with comm {MAIN_NAME!r}")
        orphans = [p for p in points if p["event"] == "orphaned_threads"]
        expect(orphans, "no orphaned_threads point")
        expect(any(f":{WORKER_NAME}" in p.get("threads_list", "") for p in orphans),
               f"no orphaned_threads point lists {WORKER_NAME!r}: {orphans}")


@timeout(90)
def test_influx_server_restart_loses_nothing():
    """influxd stops mid-run and comes back: every event still arrives, once."""
    with Influxd() as db:
        db.create_database("ft")
        stop_file = os.path.join(workdir(), "stop-forking")
        ft = start_forktrace(["--json", f"--influx={db.url}", "--influx-db=ft", "--",
                              *trigger(stop_file=stop_file, main_name="ft-restart")])
        ft.wait_for("fork", count=3, timeout=15)
        time.sleep(1.5)                       # a batch is delivered while the server is up
        db.stop()
        ft.wait_for("fork", count=len(ft.where("fork")) + 10, timeout=15)
        db.start()
        ft.wait_for("fork", count=len(ft.where("fork")) + 10, timeout=15)
        open(stop_file, "w").close()
        r = ft.finish(timeout=30)
        r.expect_rc(0)
        complaints = forktrace_lines(r.stderr)
        expect(any("cannot write to InfluxDB" in line and "retrying" in line for line in complaints),
               f"the outage was not reported on stderr:\n{r.stderr}")
        match_points(r.events, db.points("ft"))


@timeout(60)
def test_influx_wrong_database_one_line():
    """A database that does not exist: one clear line, tracing goes on, COMMAND's status."""
    with Influxd() as db:
        r = run_forktrace(["--json", f"--influx={db.url}", "--influx-db=nope", "--", *trigger(exit_status=7)],
                          timeout=30)
        r.expect_rc(7)
        expect(r.one("fork"), "no fork event")
        complaints = forktrace_lines(r.stderr)
        expect_eq(f"lines from forktrace on stderr ({r.stderr!r})", len(complaints), 1)
        expect('database not found: "nope"' in complaints[0] and "CREATE DATABASE" in complaints[0],
               f"unclear message: {complaints[0]}")
        expect("nope" not in db.databases(), "forktrace created the database")


@timeout(40)
def test_influx_v2_token_org_bucket_gzip():
    """2.x/3.x API: token header from INFLUX_TOKEN, org and bucket, gzip body of the expected lines."""
    with Listener() as lst:
        r = run_forktrace(["--json", f"--influx={lst.url}", "--influx-org=my org", "--influx-bucket=forktrace",
                           "--", *trigger()], env={"INFLUX_TOKEN": "tok-123=="}, timeout=30)
        r.expect_rc(0)
        expect(lst.requests, "no write request reached the listener")
        for req in lst.requests:
            expect_eq("method", req["method"], "POST")
            expect_eq("path", req["path"], "/api/v2/write")
            expect_eq("query", req["query"], {"org": ["my org"], "bucket": ["forktrace"], "precision": ["ns"]})
            expect_eq("Authorization", req["headers"].get("authorization"), "Token tok-123==")
            expect_eq("Content-Encoding", req["headers"].get("content-encoding"), "gzip")
        expect_eq("lines received", lst.lines(), expected_lines(r.events))


@timeout(40)
def test_influx_retries_after_503():
    """The server answers 503 with Retry-After, then accepts: every line arrives, none twice."""
    with Listener(statuses=(503, 503, 204), retry_after=1) as lst:
        r = run_forktrace(["--json", f"--influx={lst.url}", "--influx-bucket=b", "--", *trigger()],
                          env={"INFLUX_TOKEN": "t"}, timeout=30)
        r.expect_rc(0)
        expect(len(lst.requests) >= 3, f"{len(lst.requests)} requests: no retry")
        expect_eq("lines received", lst.lines(), expected_lines(r.events))


@timeout(40)
def test_influx_server_down_counts_every_event():
    """No server at all, a buffer of 2: tracing is unharmed and every event is counted as dropped."""
    port = free_port()
    t0 = time.monotonic()
    r = run_forktrace(["--json", f"--influx=http://127.0.0.1:{port}", "--influx-db=ft", "--", *trigger()],
                      env={"FORKTRACE_INFLUX_BUFFER": "2"}, timeout=30)
    took = time.monotonic() - t0
    r.expect_rc(0)
    expect(r.events, "forktrace printed no event")
    complaints = forktrace_lines(r.stderr)
    expect_eq(f"lines from forktrace on stderr ({r.stderr!r})", len(complaints), 1)
    expect("retrying" in complaints[0], f"unclear message: {complaints[0]}")
    dropped = re.search(r"\b(\d+) dropped\b", r.stderr)
    expect(dropped, f"no count of dropped events on stderr:\n{r.stderr}")
    expect_eq("events counted as dropped", int(dropped.group(1)), len(r.events))
    expect(took < 15, f"forktrace took {took:.1f}s to give up on a server that is down")


def test_influx_v2_needs_token():
    """2.x without INFLUX_TOKEN: one line saying so, before anything runs."""
    r = run_forktrace(["--json", "--influx=http://127.0.0.1:9", "--influx-bucket=b", "--", "/bin/true"],
                      env={"INFLUX_TOKEN": ""})
    r.expect_one_line_error(1)
    expect("INFLUX_TOKEN" in r.stderr, f"unclear message: {r.stderr}")


@timeout(60)
def test_influx_dashboard_queries_run():
    """Every InfluxQL query of dashboards/forktrace-grafana.json runs on InfluxDB 1.x and finds the hazards."""
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "dashboards", "forktrace-grafana.json")) as f:
        dash = json.load(f)
    grafana = {"$timeFilter": "time > now() - 1h", "$__interval": "10s", "$host": ".*", "$comm": ".*"}

    def as_run(q):
        for k, v in grafana.items():
            q = q.replace(k, v)
        return q

    with Influxd() as db:
        db.create_database("ft")
        r = run_forktrace(["--json", f"--influx={db.url}", "--influx-db=ft", "--", *trigger()], timeout=30)
        r.expect_rc(0)
        hazards = [e for e in r.events if e["severity"] != "info" and e["event"] not in ("lost_events", "scan")]
        expect(hazards, "the trigger caused no hazard")
        queries = [t["query"] for p in dash["panels"] for t in p["targets"]]
        queries += [v["query"] for v in dash["templating"]["list"]]
        queries += [a["query"] for a in dash["annotations"]["list"]]
        for q in queries:
            db.query(as_run(q), "ft")                 # fails the test on an InfluxQL error
        stat = db.rows(as_run(dash["panels"][0]["targets"][0]["query"]), "ft")
        expect_eq("hazards counted by the dashboard", stat[0]["count"] if stat else 0, len(hazards))


@timeout(60)
def test_influx_format_stdout_is_line_protocol():
    """--format=influx (for Telegraf's inputs.execd): stdout is line protocol InfluxDB takes whole."""
    with Influxd() as db:
        db.create_database("ft")
        r = run_forktrace(["--format=influx", "--", *trigger()], timeout=30)
        r.expect_rc(0)
        lines = r.stdout.splitlines()
        expect(lines and all(line.startswith("forktrace,") for line in lines),
               f"stdout is not only line protocol:\n{r.stdout[:2000]}")
        expect(any(",event=orphaned_threads," in line for line in lines), "no orphaned_threads line")
        status, error = db.write("ft", r.stdout)
        expect_eq(f"InfluxDB's answer to the lines ({error})", status, 204)
        # one point per series (tags) and timestamp
        keys = {(re.match(r"(?:[^ \\]|\\.)*", line).group(0), line.rsplit(" ", 1)[1]) for line in lines}
        expect_eq("points stored", len(db.points("ft")), len(keys))


def test_influx_bad_url_is_a_usage_error():
    """A URL that is not http(s), or 1.x and 2.x options mixed: exit 2 and one line, before anything runs."""
    r = run_forktrace(["--json", "--influx=localhost:8086", "--influx-db=ft", "--", "/bin/true"])
    r.expect_one_line_error(2)
    expect("http://" in r.stderr, f"unclear message: {r.stderr}")
    r = run_forktrace(["--json", "--influx=http://127.0.0.1:9", "--influx-db=ft", "--influx-bucket=b",
                       "--", "/bin/true"])
    r.expect_one_line_error(2)
    expect("one or the other" in r.stderr, f"unclear message: {r.stderr}")
