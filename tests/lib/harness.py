"""Helpers shared by the end-to-end scenarios (python3 stdlib only).

A scenario runs forktrace (usually `--json -- COMMAND`) over a trigger program
from tests/progs/ and compares forktrace's events with the facts the trigger
reported about itself.  Triggers never write to stdout (the traced COMMAND
shares forktrace's stdout): they append `key=value` lines to the file named by
$FT_REPORT.  Targets started directly (for -p / -a) also get a control pipe,
$FT_CONTROL_FD, on which the test tells them when to proceed.

Every file of a test (forktrace's stdout/stderr, reports) lives in the test's
work directory, so the runner can show them when the test fails or times out.
Every process a test starts is in its own session; cleanup() kills them all.
"""
import datetime
import json
import os
import re
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# FT_BUILD: another build directory (the sanitizer build), relative to the checkout
BUILD = os.path.join(ROOT, os.environ.get("FT_BUILD") or "build")
PROGS_SRC = os.path.join(ROOT, "tests", "progs")
PROGS_BIN = os.path.join(BUILD, "progs")
FORKTRACE = os.environ.get("FORKTRACE") or os.path.join(BUILD, "forktrace")
PYTHON = "/usr/bin/python3"
# pyenv's interpreters, where pyenv keeps them
PYENV = os.path.join(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"), "versions")
POLL = 0.02          # seconds between two looks at a file we wait on


class Skip(Exception):
    """A prerequisite of the scenario is missing: the test is skipped, not passed."""


class Failure(AssertionError):
    pass


def fail(msg):
    raise Failure(msg)


def expect(cond, msg):
    if not cond:
        fail(msg)


def expect_eq(what, got, want):
    if got != want:
        fail(f"{what}: expected {want!r}, got {got!r}")


def timeout(seconds):
    """Decorator: this scenario may take longer than the runner's default."""
    def set_timeout(func):
        func.timeout = seconds
        return func
    return set_timeout


# ---------------------------------------------------------------- test state

_workdir = None
_counter = 0
_procs = []          # every Popen a test started, killed by cleanup()


def set_workdir(path):
    """Called by the runner before each test."""
    global _workdir, _counter, _procs
    _workdir, _counter, _procs = path, 0, []


def workdir():
    global _workdir
    if _workdir is None:
        _workdir = tempfile.mkdtemp(prefix="forktrace-test-")
    return _workdir


def _next(prefix):
    global _counter
    _counter += 1
    return os.path.join(workdir(), f"{_counter:02d}-{prefix}")


def _popen(argv, **kw):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True, **kw)
    _procs.append(p)
    return p


def kill_group(p, timeout=5):
    """SIGKILL a process group: p is a Popen started in its own session (which is then
    reaped, within timeout seconds) or a process-group id. What is left of a group
    whose leader already exited is killed too."""
    pgid = p if isinstance(p, int) else p.pid
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if isinstance(p, int):
        return
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass


def cleanup():
    """Kill every process group a test started (the runner also sweeps strays)."""
    for p in _procs:
        kill_group(p)


def wait_until(cond, timeout, what, alive=None):
    """Poll cond() until it returns something true; fail after timeout seconds,
    or as soon as the Popen `alive` has exited (after one last look)."""
    deadline = time.monotonic() + timeout
    while True:
        exited = alive is not None and alive.poll() is not None
        value = cond()
        if value:
            return value
        if exited:
            fail(f"{what}: process exited with status {alive.returncode} first")
        if time.monotonic() > deadline:
            fail(f"{what}: not within {timeout}s")
        time.sleep(POLL)


def _clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"   # Python triggers import tests/progs/ftlib.py
    env.update(extra or {})
    return env


# ---------------------------------------------------------------- trigger programs

def _compile(name):
    for ext, compiler in ((".c", "cc"), (".cpp", "g++")):
        src = os.path.join(PROGS_SRC, name + ext)
        if os.path.exists(src):
            break
    else:
        fail(f"no trigger program tests/progs/{name}.c or .cpp")
    out = os.path.join(PROGS_BIN, name)
    deps = [src, os.path.join(PROGS_SRC, "ftlib.c")]
    newest = max(os.path.getmtime(d) for d in deps if os.path.exists(d))
    if os.path.exists(out) and os.path.getmtime(out) >= newest:
        return out
    os.makedirs(PROGS_BIN, exist_ok=True)
    tmp = f"{out}.tmp{os.getpid()}"
    cmd = [compiler, "-O1", "-g", "-pthread", "-Wall", "-o", tmp, src]
    c = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if c.returncode != 0:
        fail(f"cannot compile {src}:\n{c.stderr}")
    os.replace(tmp, out)
    return out


def python(version=None):
    """The interpreter to run Python triggers with: /usr/bin/python3, or the
    pyenv build of `version` (e.g. "3.13"); Skip when it is not installed."""
    if version is None:
        return PYTHON
    if os.path.isdir(PYENV):
        for v in sorted(os.listdir(PYENV)):
            exe = os.path.join(PYENV, v, "bin", "python3")
            if (v == version or v.startswith(version + ".")) and os.access(exe, os.X_OK):
                return exe
    raise Skip(f"python {version} is not installed under {PYENV}")


def prog(name, *args, python_version=None):
    """argv of trigger program `name` (C/C++ compiled on demand into build/progs/)."""
    py = os.path.join(PROGS_SRC, name + ".py")
    if os.path.exists(py):
        return [python(python_version), py, *args]
    return [_compile(name), *args]


# ---------------------------------------------------------------- reports

class Report:
    """The key=value lines a trigger appended to its $FT_REPORT file."""

    def __init__(self, path):
        self.path = path
        with open(path, "w"):
            pass
        os.chmod(path, 0o666)

    def values(self, key):
        with open(self.path) as f:
            lines = f.read().split("\n")[:-1]      # a line without its newline is not complete
        return [line.split("=", 1)[1] for line in lines if line.split("=", 1)[0] == key]

    def text(self):
        with open(self.path) as f:
            return f.read()

    def get(self, key):
        vals = self.values(key)
        if len(vals) != 1:
            fail(f"trigger report: expected one '{key}=' line, found {len(vals)} "
                 f"(is $FT_REPORT passed to the traced command?)\n{self.text()}")
        return vals[0]

    def int(self, key):
        return int(self.get(key))

    def ints(self, key):
        return [int(v) for v in self.values(key)]

    def threads(self, key="thread"):
        """Lines `key=TID,COMM` as [{"tid", "comm"}] sorted by tid, the shape of an event's threads."""
        out = []
        for v in self.values(key):
            tid, comm = v.split(",", 1)
            out.append({"tid": int(tid), "comm": comm})
        return sorted(out, key=lambda t: t["tid"])

    def wait(self, key, count=1, timeout=10, alive=None):
        return wait_until(lambda: len(self.values(key)) >= count, timeout,
                          f"trigger report line '{key}='", alive)


def threads_of(event, keys=("tid", "comm")):
    """An event's threads array as {key: value} of `keys` (a thread's identity
    by default: its Python name and stack are asserted where a test is about
    them; keys=None keeps every field), sorted by tid (order is not part of
    the contract)."""
    threads = sorted(event["threads"], key=lambda t: t.get("tid", 0))
    if keys is None:
        return threads
    return [{k: t[k] for k in keys if k in t} for t in threads]


# ---------------------------------------------------------------- event schema (SPEC.md)

_THREADS = "threads[]"                # [{"tid", "comm", "name"?}]
_THREADS_STACKS = "threads[]+stack"  # the same, each with a "stack" where known
_STACK = "stack[]"                   # [frame]
COMMON = {"time": str, "event": str, "severity": str, "pid": int, "comm": str}
SCHEMA = {  # event: (fields, optional fields, allowed severities)
    "fork": ({"tid": int, "child_pid": int, "threads": int, "main_thread": bool, "held_locks": int},
             {"stack": _STACK}, {"info"}),
    "held_lock": ({"child_pid": int, "lock": str, "lock_type": str, "holder_tid": int, "holder_comm": str,
                   "holder_is_forker": bool, "found_by": str},
                  {"lock_object": str, "holder_name": str, "held_ns": int, "corroborated": bool,
                   "holder_stack": _STACK}, {"warning", "info"}),
    "orphaned_threads": ({"child_pid": int, "threads": _THREADS_STACKS}, {"threads_omitted": int},
                         {"warning", "info"}),
    "fork_in_thread": ({"tid": int, "child_pid": int}, {"name": str, "stack": _STACK}, {"warning", "info"}),
    "child_deadlock": ({"tid": int, "lock": str, "holder_tid": int, "holder_comm": str, "parent_pid": int,
                        "since_fork_ns": int, "reason": str},
                       {"holder_name": str, "lock_type": str, "lock_object": str, "stack": _STACK,
                        "holder_stack": _STACK}, {"error", "warning"}),
    "exit_with_threads": ({"threads": _THREADS, "exit_code": int}, {}, {"warning", "info"}),
    "inherited_epoll": ({"tid": int, "fd": int, "parent_pid": int}, {}, {"warning"}),
    "exec": ({"filename": str, "since_fork_ns": int}, {}, {"info"}),
    "exit": ({"exit_code": int, "signal": int}, {}, {"info"}),
    "attach": ({"threads": _THREADS, "locks": str}, {"python": str, "threads_omitted": int}, {"info"}),
    "detach": ({"threads": int, "locks": str}, {}, {"info"}),
    # "what" is not in SPEC.md's table yet
    "lost_events": ({"count": int}, {"what": str}, {"error"}),
    "scan": ({"child_pid": int, "bytes": int, "ns": int, "locks_found": int, "scan_complete": bool},
             {"reason": str}, {"info", "warning"}),
}
TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})(Z|\+00:00)$")


_FRAME = {"func": str, "file": str, "line": int, "module": str, "offset": str, "lang": str}


def _frame_ok(f):
    """SPEC's frame object: known fields only, lang always, offset as a hex string."""
    return (isinstance(f, dict) and set(f) <= set(_FRAME) and f.get("lang") in ("c", "python")
            and all(_type_ok(v, _FRAME[k]) for k, v in f.items())
            and ("offset" not in f or re.fullmatch(r"0x[0-9a-f]+", f["offset"]) is not None)
            and ("func" in f or "file" in f or "module" in f))


def _thread_ok(t, with_stack):
    allowed = {"tid", "comm", "name"} | ({"stack"} if with_stack else set())
    return (isinstance(t, dict) and {"tid", "comm"} <= set(t) <= allowed and type(t["tid"]) is int
            and isinstance(t["comm"], str) and isinstance(t.get("name", ""), str)
            and _type_ok(t.get("stack", []), _STACK))


def _type_ok(value, kind):
    if kind in (_THREADS, _THREADS_STACKS):
        return isinstance(value, list) and all(_thread_ok(t, kind == _THREADS_STACKS) for t in value)
    if kind == _STACK:
        return isinstance(value, list) and all(_frame_ok(f) for f in value)
    if kind is int:
        return type(value) is int          # not a bool, not a float
    return isinstance(value, kind)


def schema_errors(ev, t_min=None, t_max=None):
    """What is wrong with one event against SPEC.md (empty list: nothing)."""
    errs = []
    name = ev.get("event")
    if name not in SCHEMA:
        return [f"unknown event {name!r}"]
    fields, optional, severities = SCHEMA[name]
    want = dict(COMMON, **fields)
    for key, kind in want.items():
        if key not in ev:
            errs.append(f"{name}: missing '{key}'")
        elif not _type_ok(ev[key], kind):
            errs.append(f"{name}: '{key}' has the wrong type: {ev[key]!r}")
    for key, kind in optional.items():
        if key in ev and ev[key] is not None and not _type_ok(ev[key], kind):
            errs.append(f"{name}: '{key}' has the wrong type: {ev[key]!r}")
    extra = set(ev) - set(want) - set(optional)
    if extra:
        errs.append(f"{name}: fields not in SPEC.md: {sorted(extra)}")
    if ev.get("severity") not in severities:
        errs.append(f"{name}: severity {ev.get('severity')!r} not one of {sorted(severities)}")
    m = TIME_RE.match(str(ev.get("time")))
    if not m:
        errs.append(f"{name}: time {ev.get('time')!r} is not RFC 3339 UTC with nanoseconds")
    elif t_min is not None:
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp() + int(m.group(2)) / 1e9
        if not t_min <= t <= t_max:
            errs.append(f"{name}: time {ev['time']} is outside the run "
                        f"({t_min - t:+.1f}s / {t_max - t:+.1f}s)")
    return errs


def parse_events(text, t_min=None, t_max=None):
    """JSON Lines -> (events, problems). Every line must be a valid event."""
    events, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            ev = json.loads(line)
        except ValueError:
            problems.append(f"line {n} is not JSON: {line[:200]!r}")
            continue
        if not isinstance(ev, dict):
            problems.append(f"line {n} is not a JSON object: {line[:200]!r}")
            continue
        events.append(ev)
        problems += [f"line {n}: {e}" for e in schema_errors(ev, t_min, t_max)]
        if ev.get("event") == "lost_events":
            problems.append(f"line {n}: forktrace lost events: {line}")
    return events, problems


# ---------------------------------------------------------------- forktrace runs

def _matches(ev, event, fields):
    return (event is None or ev.get("event") == event) and all(ev.get(k) == v for k, v in fields.items())


def _describe(event, fields):
    return (event or "any") + " event" + (" with " + ", ".join(f"{k}={v!r}" for k, v in fields.items())
                                          if fields else "")


class Events:
    """Queries over a list of events."""

    def where(self, event=None, **fields):
        return [e for e in self.events if _matches(e, event, fields)]

    def one(self, event=None, **fields):
        found = self.where(event, **fields)
        if len(found) != 1:
            fail(f"expected exactly one {_describe(event, fields)}, found {len(found)}"
                 + "".join("\n  " + json.dumps(e) for e in found[:5]))
        return found[0]

    def none(self, event=None, **fields):
        found = self.where(event, **fields)
        if found:
            fail(f"expected no {_describe(event, fields)}, found {len(found)}"
                 + "".join("\n  " + json.dumps(e) for e in found[:5]))

    def quiet(self):
        """No event of severity warning or error at all."""
        bad = [e for e in self.events if e.get("severity") in ("warning", "error")]
        if bad:
            fail(f"expected no warning or error, found {len(bad)}"
                 + "".join("\n  " + json.dumps(e) for e in bad[:5]))


class Result(Events):
    def __init__(self, rc, stdout, stderr, events, report):
        self.rc, self.stdout, self.stderr, self.events, self.report = rc, stdout, stderr, events, report

    def expect_rc(self, want):
        expect_eq("forktrace exit status", self.rc, want)

    def expect_one_line_error(self, rc):
        """A failure: exit status rc and exactly one line on stderr, nothing on stdout."""
        self.expect_rc(rc)
        lines = self.stderr.strip().splitlines()
        expect(len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{self.stderr}")
        expect_eq("stdout", self.stdout, "")


class Forktrace(Events):
    """forktrace running in the background; its stdout/stderr go to files."""

    def __init__(self, args, env=None, wrapper=()):
        self.args = list(args)
        opts = self.args[:self.args.index("--")] if "--" in self.args else self.args
        self.json = ("--json" in opts or "--format=json" in opts) and "-o" not in opts
        base = _next("forktrace")
        self.out_path, self.err_path = base + ".out", base + ".err"
        self.report = Report(base + ".report")
        with open(base + ".cmd", "w") as f:
            f.write(" ".join([FORKTRACE] + self.args) + "\n")
        self.t0 = time.time() - 1
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = _popen([*wrapper, FORKTRACE] + self.args, stdout=out, stderr=err,
                               env=_clean_env(dict(env or {}, FT_REPORT=self.report.path)))
        self.pid = self.proc.pid

    @property
    def events(self):
        """Events printed so far (complete lines that parse)."""
        with open(self.out_path) as f:
            lines = f.read().split("\n")[:-1]
        evs = []
        for line in lines:
            try:
                evs.append(json.loads(line))
            except ValueError:
                pass
        return evs

    def wait_for(self, event=None, count=1, timeout=10, **fields):
        """Wait until forktrace has printed `count` events matching; return them (or the one)."""
        def enough():
            found = self.where(event, **fields)
            return found if len(found) >= count else None
        found = wait_until(enough, timeout, f"forktrace printing {count} x {_describe(event, fields)}",
                           self.proc)
        return found[0] if count == 1 else found

    def interrupt(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)

    def finish(self, timeout=15, check=True):
        """Wait for forktrace to exit by itself; kill what is left of its group.
        With check, the JSON stdout must be valid per SPEC.md with no lost_events."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            fail(f"forktrace did not exit within {timeout}s")
        finally:
            kill_group(self.proc)
        with open(self.out_path.replace(".out", ".rc"), "w") as f:
            f.write(f"{rc}\n")
        with open(self.out_path, errors="replace") as f:
            stdout = f.read()
        with open(self.err_path, errors="replace") as f:
            stderr = f.read()
        events = []
        if self.json:
            events, problems = parse_events(stdout, self.t0, time.time() + 1)
            if check and problems:
                fail("forktrace output breaks SPEC.md:\n  " + "\n  ".join(problems[:10]))
        return Result(rc, stdout, stderr, events, self.report)


def start_forktrace(args, env=None, wrapper=()):
    """forktrace ARGS in the background; wrapper: a command that execs it (setpriv ... --)."""
    return Forktrace(args, env, wrapper)


def run_forktrace(args, timeout=15, env=None, check=True):
    """Run forktrace to completion -> Result(rc, events, stdout, stderr, report)."""
    return Forktrace(args, env).finish(timeout, check)


def trace(name, *args, options=("--json",), timeout=15, python_version=None, check=True):
    """`forktrace OPTIONS -- <trigger program name> ARGS`, run to completion."""
    return run_forktrace([*options, "--", *prog(name, *args, python_version=python_version)],
                         timeout=timeout, check=check)


# ---------------------------------------------------------------- targets started directly

class Target:
    """A trigger program started by the test itself (for -p and -a). It reads
    its orders from the pipe $FT_CONTROL_FD: one byte per step, EOF to finish."""

    def __init__(self, argv):
        base = _next("target")
        self.report = Report(base + ".report")
        r, self.control = os.pipe()
        with open(base + ".err", "wb") as err:
            self.proc = _popen(argv, stdout=subprocess.DEVNULL, stderr=err, pass_fds=(r,),
                               env=_clean_env({"FT_REPORT": self.report.path, "FT_CONTROL_FD": str(r)}))
        os.close(r)
        self.pid = self.proc.pid

    def wait_report(self, key, count=1, timeout=10):
        return self.report.wait(key, count, timeout, alive=self.proc)

    def proceed(self):
        os.write(self.control, b"g")

    def finish(self, timeout=10):
        """Close the control pipe (the target's cue to exit) and wait for it."""
        if self.control is not None:
            os.close(self.control)
            self.control = None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            fail(f"target {self.pid} did not exit within {timeout}s")


def start(name, *args, python_version=None):
    return Target(prog(name, *args, python_version=python_version))


def vanished_pid():
    """A pid that no process has: that of a child we just reaped."""
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    return p.pid


def bpf_links_of(pid):
    """The BPF links process pid holds, from its fdinfo: {link id: (link type, probed pid or None)}."""
    links = {}
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                text = f.read()
        except OSError:
            continue
        m_id = re.search(r"^link_id:\s*(\d+)", text, re.M)
        if not m_id:
            continue
        m_type = re.search(r"^link_type:\s*(\S+)", text, re.M)
        m_pid = re.search(r"^pid:\s*(\d+)", text, re.M)
        links[int(m_id.group(1))] = (m_type.group(1) if m_type else "?",
                                     int(m_pid.group(1)) if m_pid else None)
    return links


def event_time_ns(ev):
    """An event's "time" as integer nanoseconds since the epoch."""
    m = TIME_RE.match(ev["time"])
    expect(m, f"bad time in {ev}")
    secs = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    return int(secs) * 1_000_000_000 + int(m.group(2))


# ---------------------------------------------------------------- every interpreter here

PY_VERSIONS = (None, "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")  # None: Debian's


def _py_label(version):
    return "debian" if version is None else "py" + version.replace(".", "")


def interpreter(version):
    """The interpreter's path (None: Debian's python3), or Skip."""
    if version is None:
        if not os.access(PYTHON, os.X_OK):
            raise Skip(f"{PYTHON} is not installed")
        return PYTHON
    return python(version)


def per_version(versions=PY_VERSIONS, seconds=None):
    """Defines test_<scenario>_<label> for each interpreter in the scenario's own module, so
    that the runner lists each; a missing interpreter makes its test a Skip with the reason."""
    def define(scenario):
        first = scenario.__doc__.strip().splitlines()[0]
        for version in versions:
            def test(version=version):
                interpreter(version)
                scenario(version)
            test.__name__ = test.__qualname__ = f"test_{scenario.__name__}_{_py_label(version)}"
            test.__doc__ = f"{first} ({'Debian python3' if version is None else version})"
            test.__module__ = scenario.__module__
            if seconds:
                test.timeout = seconds
            scenario.__globals__[test.__name__] = test
        return scenario
    return define


# ---------------------------------------------------------------- nothing left in the kernel

def bpf_objects_of(pid):
    """The BPF objects process pid holds through its descriptors, from its fdinfo:
    {("link" | "prog" | "map", id)}; empty when pid is gone."""
    objs = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return objs
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                text = f.read()
        except OSError:
            continue
        for kind in ("link", "prog", "map"):
            m = re.search(rf"^{kind}_id:\s*(\d+)", text, re.M)
            if m:
                objs.add((kind, int(m.group(1))))
    return objs


class KernelObjects:
    """Samples the BPF objects a running forktrace holds (every 5 ms, from a thread, until it
    exits), so that a test can check afterwards that none of them outlived it."""

    def __init__(self, ft):
        import threading
        self.seen = set()
        self._ft = ft
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while self._ft.proc.poll() is None:
            self.seen |= bpf_objects_of(self._ft.pid)
            time.sleep(0.005)

    def expect_released(self, timeout=5):
        """No process holds any BPF object forktrace held (links, programs, maps): the
        kernel dropped them all within timeout seconds of its exit."""
        self._thread.join(timeout)

        def left():
            held = set()
            for d in os.listdir("/proc"):
                if d.isdigit():
                    held |= bpf_objects_of(int(d)) & self.seen
            return held
        try:
            wait_until(lambda: not left(), timeout, "forktrace's BPF objects released")
        except Failure:
            fail(f"BPF objects of forktrace still held after it exited: {sorted(left())[:10]}")
