"""forktrace report: a --json recording drawn as one HTML page, checked in headless Chromium.

Golden recordings (tests/golden/, real runs of the test scenarios) and a live
run with --report=FILE go through the page: it loads with no console error,
it has one lane per process and one mark per hazard with its severity, on the
lane of the process it happened to; a click on a mark shows the event (the
holder, the threads, the stacks); a screenshot is not blank. A hostile
recording (names with markup, quotes, newlines, invalid UTF-8, broken lines)
runs no script and shows every name as text.
"""
import json
import os
import re
import subprocess

import browser
import harness
from harness import expect, expect_eq, fail, run_forktrace, timeout

GOLDEN = os.path.join(harness.ROOT, "tests", "golden")
HAZARDS = {"held_lock", "orphaned_threads", "fork_in_thread", "child_deadlock", "exit_with_threads",
           "inherited_epoll", "lost_events"}
LIFECYCLE = {"fork", "exec", "exit", "attach", "detach", "scan"}
AT_FORK = {"held_lock", "orphaned_threads", "fork_in_thread", "scan"}   # drawn on the child's lane


def load(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().decode("utf-8", "replace").splitlines() if line.strip()]


def report(src, name="report.html"):
    """`forktrace report SRC -o WORKDIR/NAME` -> (Result, html path)."""
    out = os.path.join(harness.workdir(), name)
    r = run_forktrace(["report", src, "-o", out], check=False)
    return r, out


def is_mark(ev):
    """The page's rule: a hazard at any severity, anything else that is not info (a scan only then)."""
    sev = ev.get("severity")
    if ev["event"] == "scan":
        return sev in ("warning", "error")
    return ev["event"] in HAZARDS or sev in ("warning", "error") or ev["event"] not in LIFECYCLE


def expected_lanes(events):
    pids = {ev["pid"] for ev in events if ev["event"] != "lost_events"}
    return sorted(pids | {ev["child_pid"] for ev in events if ev["event"] == "fork"})


def expected_marks(events):
    """[event index, kind, severity, pid of its lane] for every hazard mark."""
    out = []
    for i, ev in enumerate(events):
        if is_mark(ev) and ev["event"] != "lost_events":
            lane = ev["child_pid"] if ev["event"] in AT_FORK and "child_pid" in ev else ev["pid"]
            out.append([i, ev["event"], ev["severity"], lane])
    return sorted(out)


def check_page(b, html, events):
    """The page of `events`: drawn, no console error, its lanes and marks; the open Browser b."""
    b.open(html)
    harness.wait_until(lambda: b.eval("document.body.dataset.ready") == "1", 20, "the page drawn")
    expect(not b.errors, "the page logged errors:\n  " + "\n  ".join(b.errors))
    lanes = b.eval("[...document.querySelectorAll('.lane.proc')].map(l => +l.dataset.pid)")
    expect_eq("one lane per process (their pids)", sorted(lanes), expected_lanes(events))
    marks = b.eval("""[...document.querySelectorAll('.mark.hazard')].map(m =>
        [+m.dataset.event, m.dataset.kind, m.dataset.severity, +m.closest('.lane').dataset.pid])""")
    expect_eq("one mark per hazard [event, kind, severity, lane]", sorted(marks), expected_marks(events))
    for sev in ("error", "warning", "info"):
        shapes = b.eval(f"document.querySelectorAll('.mark.hazard.sev-{sev} svg.shape.sev-{sev}').length")
        expect_eq(f"{sev} marks with the {sev} shape", shapes, sum(1 for m in marks if m[2] == sev))
    png = b.screenshot()
    colours, ink = browser.png_colours(png)
    expect(colours >= 16 and ink >= 0.02,
           f"the screenshot looks blank: {colours} colours, {ink:.1%} of it not background")
    return png


def click_detail(b, selector):
    """Clicks the mark (a real mouse click) and returns the detail panel's text."""
    b.click(selector)
    return harness.wait_until(lambda: b.eval(
        "document.getElementById('detail').dataset.event !== undefined && "
        "document.getElementById('detail').innerText"), 5, f"the detail of {selector}")


def one(events, **fields):
    found = [(i, ev) for i, ev in enumerate(events) if all(ev.get(k) == v for k, v in fields.items())]
    expect(len(found) == 1, f"expected one event with {fields} in the recording, found {len(found)}")
    return found[0]


# ---------------------------------------------------------------- golden recordings

@timeout(60)
def test_held_lock_deadlock_page():
    src = os.path.join(GOLDEN, "held_lock_deadlock.jsonl")
    events = load(src)
    r, html = report(src)
    r.expect_rc(0)
    expect_eq("stderr", r.stderr, "")
    with browser.Browser() as b:
        check_page(b, html, events)
        i, dl = one(events, event="child_deadlock")
        text = click_detail(b, f'.mark[data-event="{i}"]')
        holder = f"{dl['holder_comm']} (tid {dl['holder_tid']})"
        for want in ("child_deadlock", "ERROR", holder, dl["lock"], "held_at_fork", "not copied"):
            expect(want in text, f"the deadlock's detail does not show {want!r}:\n{text}")
        expect(b.eval("document.querySelector('.mark.selected') !== null"), "the clicked mark is not selected")
        badge = b.eval(f"document.querySelector('.lane[data-pid=\"{dl['pid']}\"] .badge').textContent")
        expect_eq("the deadlocked child's badge", badge, "deadlocked")
        verdict = b.eval("document.getElementById('verdict').textContent")
        expect(f"1 process deadlocked on a lock no thread can release: {dl['comm']} [{dl['pid']}]" in verdict,
               f"the page's verdict does not name the deadlocked child:\n{verdict}")
        i, held = one(events, event="held_lock")
        text = click_detail(b, f'.mark[data-event="{i}"]')
        expect(held["holder_comm"] in text and str(held["holder_tid"]) in text,
               f"the held lock's detail does not show its holder:\n{text}")
        expect(not b.errors, "errors after the clicks:\n  " + "\n  ".join(b.errors))


@timeout(60)
def test_python_deadlock_page_shows_holder_and_stack():
    src = os.path.join(GOLDEN, "python_rlock_deadlock.jsonl")
    events = load(src)
    r, html = report(src)
    r.expect_rc(0)
    with browser.Browser() as b:
        check_page(b, html, events)
        i, dl = one(events, event="child_deadlock")
        text = click_detail(b, f'.mark[data-event="{i}"]')
        expect(f'{dl["holder_comm"]} "{dl["holder_name"]}" (tid {dl["holder_tid"]})' in text,
               f"the deadlock's detail does not name its holder:\n{text}")
        expect(dl["lock_object"] in text, f"no lock object in:\n{text}")
        frames = b.eval("[...document.querySelectorAll('#detail ol.stack li')].map(li => li.innerText)")
        expect_eq("frames shown", len(frames), len(dl["stack"]))
        for shown, f in zip(frames, dl["stack"]):
            for want in (f["func"], f"{f['file']}:{f['line']}", "python"):
                expect(want in shown, f"frame {f} shown as {shown!r}")
        i, orph = one(events, event="orphaned_threads")
        text = click_detail(b, f'.mark[data-event="{i}"]')
        t = orph["threads"][0]
        expect(f'"{t["name"]}" (tid {t["tid"]})' in text, f"the orphan is not named:\n{text}")
        expect(t["stack"][0]["func"] in text, f"the orphan's stack is not shown:\n{text}")


@timeout(60)
def test_fork_storm_page():
    src = os.path.join(GOLDEN, "fork_storm.jsonl")
    events = load(src)
    r, html = report(src)
    r.expect_rc(0)
    with browser.Browser() as b:
        check_page(b, html, events)
        forks = b.eval("document.querySelectorAll('.fork-tick').length")
        expect(1 <= forks <= 300, f"fork ticks: {forks}")
        i, orph = [(i, e) for i, e in enumerate(events) if e["event"] == "orphaned_threads"][-1]
        text = click_detail(b, f'.mark[data-event="{i}"]')
        for t in orph["threads"]:
            expect(f"(tid {t['tid']})" in text, f"orphan {t} not listed:\n{text}")


# ---------------------------------------------------------------- a live run

@timeout(90)
def test_live_report_of_the_python_example():
    """--report=FILE on a real trace: the bundled example, whose child blocks on a Lock."""
    wd = harness.workdir()
    rec, live = os.path.join(wd, "run.jsonl"), os.path.join(wd, "live.html")
    r = run_forktrace(["--json", "-o", rec, f"--report={live}", "--", harness.PYTHON,
                       os.path.join(harness.ROOT, "examples", "fork_hazard.py")], timeout=30)
    r.expect_rc(0)
    events = load(rec)
    expect(os.path.exists(live), "--report wrote no page")
    expect(not [n for n in os.listdir(wd) if n.startswith("live.html.")], "a temporary file was left behind")
    r2, again = report(rec, "again.html")
    r2.expect_rc(0)

    def embedded(path):
        with open(path, encoding="utf-8") as f:
            page = f.read()
        m = re.search(r'<script type="application/json" id="ft-events">(.*?)</script>', page, re.S)
        expect(m, f"no events in {path}")
        return json.loads(m.group(1))
    expect_eq("the live page's events and the recording's", embedded(live), events)
    expect_eq("the live page's events and report's", embedded(again), events)
    with browser.Browser() as b:
        check_page(b, live, events)
        title = b.eval("document.getElementById('title').textContent")
        expect("fork_hazard.py" in title, f"title {title!r} does not say what was traced")
        i, dl = one(events, event="child_deadlock")
        text = click_detail(b, f'.mark[data-event="{i}"]')
        # a threading.Lock found held at the fork: the child blocking on it is certain
        expect_eq("child_deadlock.reason", dl["reason"], "held_at_fork")
        expect("held_at_fork" in text and "threading.Lock" in text, f"the deadlock's detail:\n{text}")
        expect("fork_hazard.py:" in text, f"the blocked child's Python stack is not shown:\n{text}")


# ---------------------------------------------------------------- hostile input

PWN = "window.__pwned = (window.__pwned || 0) + 1"
HOSTILE_NAMES = [
    f"<script>{PWN}</script>",
    f'"><img src=x onerror="{PWN}">',
    f"</script><script>{PWN}</script><!--",
    "line\nbreak \"quoted\" 'single' \u2028sep\u2029 \\back",
]


def hostile_recording(path):
    """Events whose names are markup, and lines that are not JSON at all; raw invalid UTF-8 too."""
    t = "2026-12-01T10:00:00.%09dZ"
    ev = [
        {"event": "attach", "severity": "info", "pid": 100, "comm": HOSTILE_NAMES[0],
         "threads": [{"tid": 100, "comm": HOSTILE_NAMES[0]}, {"tid": 101, "comm": "w", "name": HOSTILE_NAMES[1]}],
         "locks": "scan"},
        {"event": "fork", "severity": "info", "pid": 100, "comm": HOSTILE_NAMES[0], "tid": 100, "child_pid": 102,
         "threads": 2, "main_thread": True, "held_locks": 1},
        {"event": "orphaned_threads", "severity": "warning", "pid": 100, "comm": HOSTILE_NAMES[0],
         "child_pid": 102, "threads": [{"tid": 101, "comm": HOSTILE_NAMES[3], "name": HOSTILE_NAMES[1],
                                        "stack": [{"func": HOSTILE_NAMES[2], "file": HOSTILE_NAMES[0],
                                                   "line": 1, "lang": "python"}]}]},
        {"event": "child_deadlock", "severity": "error", "pid": 102, "comm": HOSTILE_NAMES[2], "tid": 102,
         "lock": "0x1000", "holder_tid": 101, "holder_comm": HOSTILE_NAMES[3], "holder_name": HOSTILE_NAMES[1],
         "parent_pid": 100, "since_fork_ns": 400000000, "reason": "held_at_fork",
         "lock_object": HOSTILE_NAMES[2], "future_field": {"html": HOSTILE_NAMES[0]},
         "stack": [{"func": HOSTILE_NAMES[1], "module": HOSTILE_NAMES[2], "offset": "0x10", "lang": "c"}]},
        {"event": "exec", "severity": "info", "pid": 102, "comm": "x", "filename": HOSTILE_NAMES[2],
         "since_fork_ns": 500000000},
    ]
    lines = []
    for n, e in enumerate(ev):
        lines.append(json.dumps(dict({"time": t % (n * 1000000)}, **e), ensure_ascii=False).encode())
    # the raw bytes of a name that is not UTF-8, as an older writer could have left them
    lines.insert(2, b'{"time":"2026-12-01T10:00:00.000500000Z","event":"exit_with_threads","severity":"warning",'
                    b'"pid":100,"comm":"bad\xff\xfe<b>","threads":[{"tid":101,"comm":"\xc3(</script>"}],"exit_code":0}')
    lines.insert(1, b"10:00:00.000 WARN  python3[100] <script>" + PWN.encode() + b"</script>")
    lines.append(b'{"time":"2026-12-01T10:00:01Z","event":"exit","pid":102,')   # cut short
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    return 8, 2, 1    # lines, malformed (the first is line 2), repaired


@timeout(60)
def test_hostile_names_run_no_script_and_show_as_text():
    src = os.path.join(harness.workdir(), "hostile.jsonl")
    nlines, malformed, repaired = hostile_recording(src)
    r, html = report(src)
    r.expect_rc(0)
    err = r.stderr.strip().splitlines()
    expect(len(err) == 1 and f"{malformed} of {nlines} lines" in err[0] and "line 2" in err[0],
           f"expected one line on stderr about the {malformed} broken lines, got:\n{r.stderr}")
    with open(html, "rb") as f:
        page = f.read()
    page.decode("utf-8")   # the page itself is valid UTF-8
    expect_eq("</script> in the page (only the page's own three)", page.count(b"</script>"), 3)
    expect(b"<img" not in page and b"<!--" not in page, "markup from the recording is in the page as markup")
    with browser.Browser() as b:
        b.open(html)
        harness.wait_until(lambda: b.eval("document.body.dataset.ready") == "1", 20, "the page drawn")
        expect(not b.errors, "the page logged errors (a blocked script is one):\n  " + "\n  ".join(b.errors))
        expect_eq("scripts in the page", b.eval("document.scripts.length"), 3)
        expect_eq("images in the page", b.eval("document.images.length"), 0)
        for sel in [".mark.hazard", "button.proc"]:
            for k in range(b.eval(f"document.querySelectorAll({json.dumps(sel)}).length")):
                b.eval(f"document.querySelectorAll({json.dumps(sel)})[{k}].click()")
                expect_eq(f"window.__pwned after clicking {sel} #{k}", b.eval("window.__pwned"), None)
        expect_eq("window.__pwned", b.eval("window.__pwned"), None)
        labels = b.eval("[...document.querySelectorAll('button.proc')].map(b => b.textContent).join('|')")
        expect(HOSTILE_NAMES[0] in labels, f"the comm is not shown as text: {labels!r}")
        notes = b.eval("document.getElementById('notes').textContent")
        expect(f"{malformed} lines of the recording are not a JSON object" in notes and "line 2" in notes,
               f"the page does not say what was left out: {notes!r}")
        expect(f"{repaired} line had bytes that are not UTF-8" in notes, f"no word of the repaired line: {notes!r}")
        b.click('.mark[data-kind="child_deadlock"]')
        text = b.eval("document.getElementById('detail').textContent")
        for name in HOSTILE_NAMES[1:3]:
            expect(name in text, f"{name!r} is not shown as text in the deadlock's detail:\n{text}")
        expect("future_field" in text, "an unknown field is not shown")
        b.click('.mark[data-kind="exit_with_threads"]')
        text = b.eval("document.getElementById('detail').textContent")
        expect("bad\ufffd\ufffd<b>" in text and "\ufffd(</script>" in text,
               f"invalid UTF-8 is not shown as U+FFFD:\n{text}")
        expect_eq("window.__pwned at the end", b.eval("window.__pwned"), None)
        expect(not b.errors, "errors after the clicks:\n  " + "\n  ".join(b.errors))


# ---------------------------------------------------------------- the command line

def test_report_failures_are_one_line():
    wd = harness.workdir()
    r = run_forktrace(["report"], check=False)
    r.expect_one_line_error(2)
    r = run_forktrace(["report", os.path.join(wd, "missing.jsonl"), "-o", os.path.join(wd, "x.html")], check=False)
    r.expect_one_line_error(1)
    junk = os.path.join(wd, "human.txt")
    with open(junk, "w") as f:
        f.write("21:19:51.550 WARN  python3[23862] child 23918 was born without 1 thread\n")
    r = run_forktrace(["report", junk, "-o", os.path.join(wd, "junk.html")], check=False)
    r.expect_one_line_error(1)
    expect("forktrace --json" in r.stderr, f"the error does not say what to give: {r.stderr}")
    r = run_forktrace(["report", os.path.join(GOLDEN, "held_lock_deadlock.jsonl"), "-o",
                       os.path.join(wd, "no", "such", "dir.html")], check=False)
    r.expect_one_line_error(1)
    r = run_forktrace([f"--report={os.path.join(wd, 'no', 'dir.html')}", "--", "/bin/true"], check=False)
    r.expect_one_line_error(1)
    expect_eq("files left in the work directory", sorted(n for n in os.listdir(wd) if "html" in n), [])


def test_report_reads_stdin_and_writes_stdout():
    src = os.path.join(GOLDEN, "held_lock_deadlock.jsonl")
    with open(src, "rb") as f:
        p = subprocess.run([harness.FORKTRACE, "report", "-"], stdin=f, capture_output=True, timeout=20)
    expect_eq("exit status", p.returncode, 0)
    expect_eq("stderr", p.stderr, b"")
    expect(p.stdout.startswith(b"<!DOCTYPE html>") and p.stdout.rstrip().endswith(b"</html>"),
           "stdout is not the page")
    m = re.search(rb'id="ft-meta">(.*?)</script>', p.stdout)
    meta = json.loads(m.group(1))
    expect_eq("the page's title", meta["title"], "stdin")
    expect_eq("events in the page", meta["events"], len(load(src)))


@timeout(60)
def test_odd_shapes_draw_without_error():
    """Fields of unexpected types, unknown events and severities, missing times: drawn or counted, no error."""
    t = "2026-12-01T10:00:0%d.000000000Z"
    odd = [
        {"time": t % 0, "event": "attach", "severity": "info", "pid": 1, "comm": "a", "threads": 3},
        {"time": t % 1, "event": "fork", "severity": "info", "pid": 1, "comm": "a", "child_pid": 1},
        {"time": t % 1, "event": "fork", "severity": "info", "pid": "1", "comm": None, "child_pid": None},
        {"time": t % 2, "event": "orphaned_threads", "severity": "warning", "pid": 1, "comm": "a",
         "child_pid": 2, "threads": "none", "stack": "not frames"},
        {"time": t % 2, "event": "held_lock", "severity": "warning", "pid": 1, "comm": "a", "child_pid": 2,
         "holder_tid": "x", "holder_stack": [1, None, {"module": "m"}], "lock": 4096},
        {"time": t % 3, "event": "child_deadlock", "severity": "critical", "pid": 2, "comm": ["a"],
         "threads": [{"tid": []}], "stack": [{"func": {"x": 1}, "lang": "c"}], "since_fork_ns": 1e300},
        {"time": t % 4, "event": "a_future_event", "severity": "warning", "pid": 2, "comm": "a", "x": [[[]]]},
        {"time": "yesterday", "event": "exit", "severity": "info", "pid": 2, "comm": "a"},
        {"event": "exit", "pid": 1},
        {"time": t % 5, "event": "exit", "severity": "info", "pid": 2, "comm": "a", "exit_code": "?", "signal": 9},
        {"time": t % 6, "event": "lost_events", "severity": "error", "pid": 0, "comm": "", "count": 5},
        {"no": "event"},
        {"time": t % 6, "event": "attach", "severity": "info", "pid": 5, "comm": "c", "threads": [], "locks": "scan"},
        {"time": t % 7, "event": "child_deadlock", "severity": "error", "pid": 5, "comm": "c", "tid": 5,
         "lock": "0x1", "holder_tid": 4, "holder_comm": "h", "parent_pid": 1, "since_fork_ns": 1, "reason": "owner_gone"},
        {"time": t % 7, "event": "exit", "severity": "info", "pid": 3, "comm": "b", "exit_code": 0, "signal": 0},
    ]
    src = os.path.join(harness.workdir(), "odd.jsonl")
    with open(src, "w") as f:
        f.write("\n".join(json.dumps(e) for e in odd) + "\n")
    r, html = report(src)
    r.expect_rc(0)
    with browser.Browser() as b:
        b.open(html)
        harness.wait_until(lambda: b.eval("document.body.dataset.ready") == "1", 20, "the page drawn")
        for sel in [".mark", "button.proc"]:
            for k in range(b.eval(f"document.querySelectorAll({json.dumps(sel)}).length")):
                b.eval(f"document.querySelectorAll({json.dumps(sel)})[{k}].click()")
        expect(not b.errors, "the page logged errors:\n  " + "\n  ".join(b.errors))
        notes = b.eval("document.getElementById('notes').textContent")
        expect("2 events without a valid time are not drawn" in notes, f"notes: {notes!r}")
        expect("1 JSON object without an \"event\" name is not drawn" in notes, f"notes: {notes!r}")
        expect(b.eval("document.querySelector('.lane.run .mark[data-kind=\"lost_events\"]') !== null"),
               "lost events are not on the run's own lane")
        expect_eq("the parent of a process found at attach, from its deadlock's parent_pid",
                  b.eval("document.querySelector('.lane[data-pid=\"5\"]').dataset.parent"), "1")
        summary = b.eval("document.getElementById('summary').textContent")
        expect("lost events 5" in summary, f"summary: {summary!r}")
