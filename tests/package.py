#!/usr/bin/python3
"""The Debian package, from source to purge (`make package-test`, as root).

    python3 tests/package.py [--keep]

Builds the working tree (tracked and new files, as they are) with
`dpkg-buildpackage -us -uc` in a scratch directory, runs lintian (no errors),
installs the .deb with dpkg -i, runs `forktrace check` and a short trace from it,
runs the service against a local influxd and checks its points, then purges the
package and checks that no file it installed is left. Refuses to run where a
forktrace package is already installed (it would be purged).

The service: where systemd is PID 1 the unit is started with systemctl and a
runtime drop-in pointing at the test's environment files. Elsewhere (a
container) nothing can start a unit, so the unit's own lines are carried out
as systemd would: its EnvironmentFile=s read (the test's in place of
/etc/default/forktrace and /etc/forktrace/credentials), $VAR expanded in
ExecStart, run with only the capabilities of CapabilityBoundingSet= and
NoNewPrivileges=, then stopped with SIGTERM. The mount and namespace hardening
is not applied then: that is said in the output.

Prints `PASS name`, `FAIL name: reason`, `SKIP name: reason`, then
`N passed, N failed, N skipped`; exit status 1 if a step failed.
"""
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import harness  # noqa: E402
from harness import Skip, expect, expect_eq, fail  # noqa: E402
from influxd import Influxd  # noqa: E402

ROOT = harness.ROOT
UNIT = "/lib/systemd/system/forktrace.service"
SECRET = "s3cret-never-on-a-command-line"
WORKLOAD = os.path.join(ROOT, "examples", "fork_hazard.py")


def run(argv, what, cwd=None, env=None, timeout=600, log=None):
    """Run argv to completion; fail with the tail of its output unless it succeeded."""
    p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, errors="replace", timeout=timeout)
    if log:
        with open(log, "w") as f:
            f.write(p.stdout + p.stderr)
    if p.returncode:
        tail = (p.stdout + p.stderr).strip().splitlines()[-15:]
        fail(f"{what}: exit status {p.returncode}\n" + "\n".join(tail))
    return p.stdout


def makefile_version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        return re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M)[1]


def git_revision():
    p = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12",
                        "--exclude=*"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else ""


class Package:
    def __init__(self, scratch):
        self.scratch = scratch
        self.version = makefile_version()
        self.deb = os.path.join(scratch, f"forktrace_{self.version}_amd64.deb")
        self.files = []

    # ------------------------------------------------------------ steps

    def build(self):
        """dpkg-buildpackage -us -uc on a copy of the working tree."""
        with open(os.path.join(ROOT, "debian", "changelog")) as f:
            expect_eq("debian/changelog version", re.match(r"forktrace \(([^)]+)\)", f.read())[1],
                      self.version)
        src = os.path.join(self.scratch, f"forktrace-{self.version}")
        names = run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                    "git ls-files").split("\0")
        for name in filter(None, names):
            if os.path.lexists(os.path.join(ROOT, name)):
                os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
                shutil.copy2(os.path.join(ROOT, name), os.path.join(src, name), follow_symlinks=False)
        env = dict(os.environ, GIT_REV=git_revision())
        run(["dpkg-buildpackage", "-us", "-uc"], "dpkg-buildpackage", cwd=src, env=env,
            log=os.path.join(self.scratch, "build.log"))
        expect(os.path.exists(self.deb), f"no {os.path.basename(self.deb)} was built")

    def lintian(self):
        """lintian on what was built: no errors; warnings are printed."""
        if not shutil.which("lintian"):
            raise Skip("lintian is not installed (apt-get install lintian)")
        changes = self.deb.replace(".deb", ".changes")
        p = subprocess.run(["lintian", "--fail-on", "error", changes], capture_output=True, text=True)
        tags = [line for line in p.stdout.splitlines() if re.match(r"^[EWI]: ", line)]
        expect(p.returncode == 0 and not any(t.startswith("E: ") for t in tags),
               f"lintian found errors:\n" + "\n".join(tags + p.stderr.splitlines()[-5:]))
        return tags

    def install(self):
        """dpkg -i: the binary, man page, completion and unit in place; the unit not enabled."""
        run(["dpkg", "-i", self.deb], "dpkg -i")
        self.files = [f for f in run(["dpkg-query", "-L", "forktrace"], "dpkg -L").splitlines() if f]
        for path in ("/usr/sbin/forktrace", "/usr/share/man/man8/forktrace.8.gz",
                     "/usr/share/bash-completion/completions/forktrace", UNIT, "/etc/default/forktrace",
                     "/usr/share/doc/forktrace/examples/forktrace-grafana.json",
                     "/usr/share/doc/forktrace/README.md.gz"):
            expect(path in self.files, f"{path} is not in the package")
            expect(os.path.exists(path), f"{path} is not on the filesystem")
        wants = "/etc/systemd/system/multi-user.target.wants/forktrace.service"
        expect(not os.path.lexists(wants), f"the unit was enabled on install: {wants} exists")
        if shutil.which("man"):
            expect_eq("man -w forktrace", run(["man", "-w", "forktrace"], "man -w").strip(),
                      "/usr/share/man/man8/forktrace.8.gz")
        loader = ('source /usr/share/bash-completion/bash_completion; '
                  '_completion_loader forktrace; complete -p forktrace')
        expect_eq("completion loaded by bash-completion", run(["bash", "-c", loader], "bash").strip(),
                  "complete -F _forktrace forktrace")
        if shutil.which("systemd-analyze"):
            p = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True, text=True)
            complaints = [line for line in (p.stdout + p.stderr).splitlines() if "forktrace" in line]
            expect(p.returncode == 0 and not complaints,
                   "systemd-analyze verify:\n" + "\n".join(complaints or [p.stderr]))

    def runs(self):
        """forktrace check and a short trace, from the package."""
        out = run(["/usr/sbin/forktrace", "--version"], "forktrace --version")
        expect(out.startswith(f"forktrace {self.version}"), f"--version: {out!r}")
        run(["/usr/sbin/forktrace", "check"], "forktrace check", cwd="/")
        run(["/usr/sbin/forktrace", "--", "true"], "forktrace -- true", cwd="/", timeout=60)
        out = run(["/usr/sbin/forktrace", "--json", "--", "/bin/sh", "-c", "/bin/true & wait"],
                  "forktrace -- sh", cwd="/", timeout=60)
        events, problems = harness.parse_events(out)
        expect(not problems, f"the packaged forktrace's output breaks SPEC.md: {problems[:3]}")
        names = {e["event"] for e in events}
        expect({"fork", "exec", "exit"} <= names, f"no fork, exec and exit events: {sorted(names)}")

    def service(self):
        """The unit, with a test environment file pointing at a local influxd, writes points;
        a process of another user is read (its Python lock named) with the unit's capabilities."""
        work = harness.workdir()
        with Influxd() as db:
            db.create_database("fleet")
            options = os.path.join(work, "forktrace.options")
            creds = os.path.join(work, "credentials")
            with open(options, "w") as f:
                f.write(f'FORKTRACE_OPTIONS="-q --influx={db.url} --influx-db=fleet '
                        f'--influx-user=fleet"\n')
            with open(creds, "w") as f:
                f.write(f"INFLUX_PASSWORD={SECRET}\n")
            os.chmod(creds, 0o600)
            service = SystemdService(options, creds) if systemd_is_pid1() else UnitRunner(options, creds)
            with service:
                expect(SECRET not in service.cmdline(), "the password is on forktrace's command line")
                target = self.workload(work)
                child = target.child_pid()

                def deadlock_point():
                    pts = [p for p in db.points("fleet") if p.get("event") == "child_deadlock"]
                    return [p for p in pts if p.get("pid") == child]
                found = harness.wait_until(deadlock_point, 20,
                                           f"a child_deadlock point for child {child} in InfluxDB")
                expect_eq("lock_object of the deadlock point", found[0].get("lock_object"),
                          "threading.Lock")
                target.stop()
                status = service.stop()
            expect_eq("the service's exit status on SIGTERM", status, 0)
            if isinstance(service, UnitRunner):
                return service.caveat
            return "started by systemd"

    def sandbox(self):
        """The unit's settings that only systemd can apply: tried by the service step where
        systemd is PID 1, named here where it is not."""
        if systemd_is_pid1():
            return "applied by systemd in the service step"
        emulated = {"Type", "EnvironmentFile", "ExecStart", "CapabilityBoundingSet", "NoNewPrivileges",
                    "SystemCallFilter", "SystemCallErrorNumber"}
        left = sorted(set(unit_lines()) - emulated)
        raise Skip("systemd is not PID 1 here (/run/systemd/system is missing), so these were not "
                   "applied to the service: " + " ".join(left))

    def workload(self, work):
        return Workload(work)

    def purge(self):
        """apt-get purge: no file of the package is left, nor its configuration."""
        if not self.files:
            self.files = [f for f in subprocess.run(["dpkg-query", "-L", "forktrace"], capture_output=True,
                                                    text=True).stdout.splitlines() if f]
        run(["apt-get", "purge", "-y", "-q", "forktrace"], "apt-get purge",
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        left = [f for f in self.files if os.path.lexists(f) and not os.path.isdir(f)]
        expect(not left, f"files left after purge: {left}")
        dirs = [f for f in self.files if os.path.isdir(f) and f.rstrip("/").endswith("forktrace")]
        expect(not dirs, f"directories of the package left after purge: {dirs}")
        for path in ("/etc/default/forktrace", "/var/lib/systemd/deb-systemd-helper-enabled/forktrace.service.dsh-also"):
            expect(not os.path.lexists(path), f"{path} is left after purge")
        info = [f for f in os.listdir("/var/lib/dpkg/info") if f.startswith("forktrace.")]
        expect(not info, f"dpkg still knows forktrace: {info}")


def systemd_is_pid1():
    return os.path.isdir("/run/systemd/system")


def unit_lines(path=UNIT):
    """key -> [values] of the unit's [Service] section."""
    values, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]":
                key, _, value = line.partition("=")
                values.setdefault(key, []).append(value)
    return values


def read_environment_file(path):
    """systemd's EnvironmentFile= syntax as far as the shipped files use it: KEY=VALUE,
    optionally double-quoted, # comments."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            key, _, value = line.partition("=")
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def expand_exec(line, env):
    """ExecStart's $VAR (split on whitespace) and ${VAR} (one word), as systemd expands them."""
    words = []
    for word in shlex.split(line):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            words.extend(env.get(m[1], "").split())
        else:
            words.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda v: env.get(v[1], ""), word))
    return words


# Loads a seccomp allow-list (argv[1], comma-separated; other calls fail with errno argv[2],
# or kill when it is KILL), then execs argv[4:] (after "--"), as systemd's SystemCallFilter=.
SECCOMP_EXEC = r'''
import errno, os, sys, seccomp
allowed, err, argv = sys.argv[1].split(","), sys.argv[2], sys.argv[4:]
f = seccomp.SyscallFilter(defaction=seccomp.KILL if err == "KILL" else seccomp.ERRNO(getattr(errno, err)))
for name in allowed:
    try:
        f.add_rule(seccomp.ALLOW, name)
    except (RuntimeError, ValueError, OSError):
        pass   # a call this architecture does not have
f.load()
os.execv(argv[0], argv)
'''
# systemd allows these with any SystemCallFilter= allow-list (systemd.exec(5))
SYSCALLS_ALWAYS = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}


def syscall_allow_list(items):
    """A SystemCallFilter= allow-list as system calls, its @groups expanded by systemd's own
    tables (systemd-analyze syscall-filter), with what systemd always allows."""
    try:
        import seccomp  # noqa: F401
    except ImportError:
        raise Skip("python3-seccomp is not installed: cannot apply the unit's SystemCallFilter=")
    if not shutil.which("systemd-analyze"):
        raise Skip("systemd-analyze is not installed: cannot expand the unit's SystemCallFilter=")
    groups, current = {}, None
    for line in run(["systemd-analyze", "syscall-filter", "--no-pager"], "systemd-analyze").splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.split()[0], [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())

    def expand(name, seen=()):
        if not name.startswith("@"):
            return {name}
        expect(name in groups, f"systemd knows no system call group {name}")
        return set().union(*(expand(m, seen + (name,)) for m in groups[name] if m not in seen))
    expect(items and not items[0].startswith("~"), "SystemCallFilter= is not an allow-list")
    return set().union(*(expand(i) for i in items)) | expand("@default") | SYSCALLS_ALWAYS


class UnitRunner:
    """The unit's ExecStart, as systemd would start it, where systemd cannot."""

    def __init__(self, options, creds):
        unit = unit_lines()
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        files = [f.lstrip("-") for f in unit.get("EnvironmentFile", [])]
        expect_eq("the unit's EnvironmentFile=s", files, ["/etc/default/forktrace", "/etc/forktrace/credentials"])
        for f in (options, creds):   # in the unit's order: options, then credentials
            env.update(read_environment_file(f))
        argv = expand_exec(unit["ExecStart"][0], env)
        expect(argv[:2] == ["/usr/sbin/forktrace", "-a"], f"ExecStart runs {argv[:2]}")
        caps = unit["CapabilityBoundingSet"][0].split()
        prefix = ["setpriv", "--bounding-set=-all," + ",".join("+" + c[4:].lower() for c in caps),
                  "--inh-caps=-all"]
        if unit.get("NoNewPrivileges") == ["yes"]:
            prefix.append("--no-new-privs")
        applied = [f"CapabilityBoundingSet ({' '.join(caps)})", "NoNewPrivileges"]
        if "SystemCallFilter" in unit:
            allowed = syscall_allow_list(" ".join(unit["SystemCallFilter"]).split())
            errno_name = unit.get("SystemCallErrorNumber", ["KILL"])[0]
            prefix += ["--", sys.executable, "-c", SECCOMP_EXEC, ",".join(sorted(allowed)), errno_name]
            applied.append("SystemCallFilter")
        base = os.path.join(harness.workdir(), "service")
        self.out, self.err = open(base + ".out", "w"), open(base + ".err", "w")
        self.proc = subprocess.Popen(prefix + ["--"] + argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=self.err, env=env, cwd="/", start_new_session=True)
        self.caveat = ("systemd is not PID 1 here: ExecStart run with the unit's EnvironmentFile=s, "
                       + ", ".join(applied) + "; its mount and namespace hardening not applied")
        harness.wait_until(lambda: self.attached(), 20, "the service attaching", self.proc)

    def attached(self):
        # forktrace -a is attached once its BPF links exist
        try:
            return bool(harness.bpf_links_of(self.proc.pid))
        except OSError:
            return False

    def cmdline(self):
        with open(f"/proc/{self.proc.pid}/cmdline") as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail("the service did not stop within 20 s of SIGTERM")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        harness.kill_group(self.proc)
        self.out.close()
        self.err.close()


class SystemdService:
    """systemctl start with a runtime drop-in naming the test's environment files."""
    DROPIN = "/run/systemd/system/forktrace.service.d/test.conf"

    def __init__(self, options, creds):
        os.makedirs(os.path.dirname(self.DROPIN), exist_ok=True)
        with open(self.DROPIN, "w") as f:
            f.write(f"[Service]\nEnvironmentFile=\nEnvironmentFile={options}\nEnvironmentFile={creds}\n"
                    "Restart=no\n")
        run(["systemctl", "daemon-reload"], "systemctl daemon-reload")
        run(["systemctl", "start", "forktrace"], "systemctl start forktrace")
        pid = harness.wait_until(lambda: int(run(["systemctl", "show", "-P", "MainPID", "forktrace"],
                                                 "systemctl show").strip() or 0), 20, "forktrace's MainPID")
        self.pid = pid
        harness.wait_until(lambda: harness.bpf_links_of(pid), 20, "the service attaching")

    def cmdline(self):
        with open(f"/proc/{self.pid}/cmdline") as f:
            return f.read()

    def stop(self):
        run(["systemctl", "stop", "forktrace"], "systemctl stop forktrace")
        result = run(["systemctl", "show", "-P", "ExecMainStatus", "forktrace"], "systemctl show").strip()
        return int(result or -1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(["systemctl", "stop", "forktrace"], capture_output=True)
        os.unlink(self.DROPIN)
        os.rmdir(os.path.dirname(self.DROPIN))
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True)


class Workload:
    """examples/fork_hazard.py run as nobody: its child blocks on a threading.Lock."""

    def __init__(self, work):
        os.chmod(work, 0o755)
        script = os.path.join(work, "fork_hazard.py")
        shutil.copy(WORKLOAD, script)
        os.chmod(script, 0o644)
        self.proc = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                                      harness.PYTHON, script], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     cwd="/", start_new_session=True)

    def child_pid(self):
        def child():
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    kids = f.read().split()
            except OSError:
                return None
            return int(kids[0]) if kids else None
        return harness.wait_until(child, 10, "fork_hazard.py forking", self.proc)

    def stop(self):
        harness.kill_group(self.proc)


def main():
    keep = "--keep" in sys.argv[1:]
    if os.geteuid() != 0:
        print("FAIL package: the package test installs and purges a package: run it as root")
        return 1
    scratch = tempfile.mkdtemp(prefix="forktrace-package-")
    os.chmod(scratch, 0o755)
    harness.set_workdir(os.path.join(scratch, "work"))
    os.makedirs(harness.workdir())
    tally = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    pkg = Package(scratch)

    def step(name, func, needs=True):
        if not needs:
            tally["SKIP"] += 1
            print(f"SKIP package.{name}: an earlier step failed", flush=True)
            return False
        try:
            notes = func()
        except Skip as e:
            tally["SKIP"] += 1
            print(f"SKIP package.{name}: {e}", flush=True)
            return False
        except (AssertionError, subprocess.TimeoutExpired, OSError) as e:
            tally["FAIL"] += 1
            lines = str(e).splitlines() or ["(no reason given)"]
            print(f"FAIL package.{name}: {lines[0]}", flush=True)
            for line in lines[1:]:
                print(f"    {line}", flush=True)
            return False
        finally:
            harness.cleanup()
        tally["PASS"] += 1
        print(f"PASS package.{name}", flush=True)
        for line in [notes] if isinstance(notes, str) else notes or []:
            print(f"    {line}", flush=True)
        return True

    if subprocess.run(["dpkg-query", "-W", "forktrace"], capture_output=True).returncode == 0:
        print("FAIL package: a forktrace package is installed here already; the test would purge it")
        return 1
    built = step("build", pkg.build)
    step("lintian", pkg.lintian, built)
    installed = step("install", pkg.install, built)
    step("runs", pkg.runs, installed)
    step("service", pkg.service, installed)
    step("sandbox", pkg.sandbox, installed)
    if subprocess.run(["dpkg-query", "-W", "forktrace"], capture_output=True).returncode == 0:
        step("purge", pkg.purge)
    else:
        step("purge", pkg.purge, False)
    print(f"{tally['PASS']} passed, {tally['FAIL']} failed, {tally['SKIP']} skipped")
    if keep or tally["FAIL"]:
        print(f"files: {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if tally["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
