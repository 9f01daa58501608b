"""Shipped like a system tool: --version, `make install`, the man page, bash completion.

The man page and the completion are checked against the binary's own --help at run
time, so an option added to one and not the others fails here.
"""
import os
import re
import shutil
import subprocess

import harness
from harness import Skip, expect, expect_eq, fail, workdir


def git(*args):
    if not shutil.which("git") or not os.path.exists(os.path.join(harness.ROOT, ".git")):
        raise Skip("not a git checkout: no revision to compare with")
    p = subprocess.run(["git", "-C", harness.ROOT, *args], capture_output=True, text=True)
    if p.returncode:
        raise Skip(f"git {' '.join(args)} failed: {p.stderr.strip()}")
    return p.stdout.strip()


def test_version_names_the_git_revision():
    """--version: the version, the commit built from, and "dirty" when the tree was."""
    p = subprocess.run([harness.FORKTRACE, "--version"], capture_output=True, text=True)
    expect_eq("--version exit status", p.returncode, 0)
    m = re.fullmatch(r"forktrace (\d+\.\d+\.\d+) \(git ([0-9a-f]{12})(, dirty)?\)\n", p.stdout)
    expect(m, f"--version printed {p.stdout!r}, want 'forktrace X.Y.Z (git REV[, dirty])'")
    head = git("rev-parse", "HEAD")
    built = os.stat(harness.FORKTRACE).st_mtime
    changed = [os.path.join(harness.ROOT, f) for f in git("diff", "--name-only", "HEAD").split()]
    newest = max([int(git("log", "-1", "--format=%ct"))]
                 + [os.stat(f).st_mtime for f in changed if os.path.exists(f)])
    if built < newest:
        raise Skip(f"{harness.FORKTRACE} is older than the tree: make, then compare")
    expect(head.startswith(m[2]), f"--version names {m[2]}, the tree is at {head[:12]}: rebuild")
    dirty = git("describe", "--always", "--dirty", "--exclude=*").endswith("-dirty")
    expect_eq("dirty in --version", bool(m[3]), dirty)


# ---------------------------------------------------------------- make install

INSTALLED = {  # path under DESTDIR: mode, for the default PREFIX
    "usr/local/sbin/forktrace": 0o755,
    "usr/local/share/man/man8/forktrace.8": 0o644,
    "usr/local/share/bash-completion/completions/forktrace": 0o644,
    "usr/local/share/doc/forktrace/examples/forktrace.service": 0o644,
    "usr/local/share/doc/forktrace/examples/forktrace.default": 0o644,
    "usr/local/share/doc/forktrace/examples/forktrace-grafana.json": 0o644,
}


def make(*args):
    p = subprocess.run(["make", "-s", "--no-print-directory", "-C", harness.ROOT, *args],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
    expect(p.returncode == 0, f"make {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-2000:]}")


def files_under(root):
    found = {}
    for d, _, names in os.walk(root):
        for n in names:
            path = os.path.join(d, n)
            found[os.path.relpath(path, root)] = os.stat(path).st_mode & 0o7777
    return found


@harness.timeout(180)
def test_make_install_lays_out_the_files_and_runs():
    """make install DESTDIR=...: exactly these files; the installed binary runs check and a
    trace with the source tree out of sight; make uninstall takes every file away again."""
    if harness.FORKTRACE != os.path.join(harness.BUILD, "forktrace"):
        raise Skip("FORKTRACE names another binary than the one make installs")
    dest = os.path.join(workdir(), "dest")
    make("install", f"DESTDIR={dest}")
    expect_eq("installed files and modes", files_under(dest), INSTALLED)
    ft = os.path.join(dest, "usr/local/sbin/forktrace")
    unit = open(os.path.join(dest, "usr/local/share/doc/forktrace/examples/forktrace.service")).read()
    expect("ExecStart=/usr/local/sbin/forktrace -a $FORKTRACE_OPTIONS" in unit,
           "the example unit does not run the installed binary")

    # run where the source tree is not: an empty directory mounted over it, in a mount namespace
    hide = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs none "$0" && test ! -e "$0/Makefile" && exec "$@"', harness.ROOT]
    p = subprocess.run(hide + [ft, "check"], cwd="/", capture_output=True, text=True)
    expect(p.returncode == 0, f"installed forktrace check: {p.returncode}\n{p.stdout}{p.stderr}")
    p = subprocess.run(hide + [ft, "--json", "--", "/bin/sh", "-c", "/bin/true & wait"], cwd="/",
                       capture_output=True, text=True, timeout=30)
    expect_eq("installed forktrace exit status", p.returncode, 0)
    events, problems = harness.parse_events(p.stdout)
    expect(not problems, f"installed forktrace's output breaks SPEC.md: {problems[:3]}")
    names = [e["event"] for e in events]
    expect("fork" in names and "exec" in names, f"no fork and exec from the installed binary: {names}")

    make("uninstall", f"DESTDIR={dest}")
    expect_eq("files left by make uninstall", files_under(dest), {})


# ---------------------------------------------------------------- the man page

MAN_PAGE = os.path.join(harness.ROOT, "docs", "forktrace.8")
OPTION_RE = re.compile(r"(?<![\w-])(--?[a-zA-Z][a-zA-Z-]*)")
LONG_ONLY_IN_MAN = {"--help", "--version"}   # --help lists them as -h, -V


def rendered_man():
    if not shutil.which("man"):
        raise Skip("man is not installed (apt-get install man-db)")
    p = subprocess.run(["man", "--warnings", "-l", MAN_PAGE], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="", LANG="C.UTF-8"))
    expect_eq("man -l exit status", p.returncode, 0)
    return p.stdout, p.stderr


def help_text():
    p = subprocess.run([harness.FORKTRACE, "--help"], capture_output=True, text=True)
    expect_eq("--help exit status", p.returncode, 0)
    return p.stdout


def help_options():
    return set(OPTION_RE.findall(help_text()))


def man_section(text, name):
    m = re.search(rf"^{name}\n(.*?)(?=^\S)", text, re.S | re.M)
    expect(m, f"the man page has no {name} section")
    return m[1]


def test_man_page_renders_without_warnings():
    out, err = rendered_man()
    expect_eq("warnings of MANWIDTH=80 man --warnings -l", err, "")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EVENTS", "LOCK MODES",
                    "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"):
        man_section(out, section)
    wide = [line for line in out.splitlines() if len(line) > 80]
    expect(not wide, f"lines wider than 80 columns: {wide[:3]}")


def test_man_page_version_is_the_makefiles():
    """The man page's footer and the Debian changelog name the version the Makefile builds."""
    with open(os.path.join(harness.ROOT, "Makefile")) as f:
        version = re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M)[1]
    with open(MAN_PAGE) as f:
        th = re.search(r"^\.TH .*\"forktrace ([^\"]+)\"", f.read(), re.M)
    expect(th, "the man page has no .TH line naming \"forktrace VERSION\"")
    expect_eq("version in the man page", th[1], version)
    with open(os.path.join(harness.ROOT, "debian", "changelog")) as f:
        expect_eq("version in debian/changelog", re.match(r"forktrace \(([^)]+)\)", f.read())[1], version)


def test_man_page_has_every_option_of_help():
    """Every option --help lists has an entry under OPTIONS, and the man page has none
    that --help does not list; every subcommand one under COMMANDS; every event one under EVENTS."""
    out, _ = rendered_man()
    tags = set()
    for line in man_section(out, "OPTIONS").splitlines():
        if re.match(r"^ {7}-", line):
            tags |= {m[1] for m in re.finditer(r"(?:^|, )(--?[a-zA-Z][a-zA-Z-]*)", line.strip())}
    listed = help_options()
    expect(not listed - tags, f"options of --help missing from the man page: {sorted(listed - tags)}")
    extra = tags - listed - LONG_ONLY_IN_MAN
    expect(not extra, f"options in the man page that --help does not list: {sorted(extra)}")
    commands = man_section(out, "COMMANDS")
    for sub in set(re.findall(r"forktrace ([a-z]+) ", help_text())):
        expect(re.search(rf"^ {{7}}forktrace {sub}\b", commands, re.M),
               f"subcommand {sub} of --help has no entry under COMMANDS")
    events = man_section(out, "EVENTS")
    for ev in harness.SCHEMA:
        expect(re.search(rf"^ {{7}}{ev}( |$)", events, re.M), f"event {ev} has no entry under EVENTS")


# ---------------------------------------------------------------- bash completion

COMPLETION = os.path.join(harness.ROOT, "dist", "forktrace.bash")


def complete(*words):
    """What bash completes for the command line `words` (the last one is being typed)."""
    if not shutil.which("bash"):
        raise Skip("bash is not installed")
    script = ('source "$1"; shift; complete -p forktrace; COMP_WORDS=("$@"); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _forktrace; printf "%s\\n" "${COMPREPLY[@]}"')
    path = os.path.dirname(harness.FORKTRACE) + ":" + os.environ.get("PATH", "/usr/bin:/bin")
    p = subprocess.run(["bash", "-c", script, "bash", COMPLETION, *words], capture_output=True,
                       text=True, env=dict(os.environ, PATH=path), timeout=20)
    expect_eq(f"completing {words}: status", p.returncode, 0)
    first, *rest = p.stdout.split("\n")
    expect_eq("complete -p forktrace", first, "complete -F _forktrace forktrace")
    return [w for w in rest if w]


def test_completion_of_options_and_their_values():
    expect_eq("--lo completes to", complete("forktrace", "--lo"), ["--locks="])
    modes = ["scan", "uprobe", "futex", "off"]
    # bash breaks "--locks=" into "--locks" "=" (COMP_WORDBREAKS has "="), readline without it
    expect_eq("--locks= completes to", complete("forktrace", "--locks", "="), modes)
    expect_eq("--locks=  (one word) completes to", complete("forktrace", "--locks="), modes)
    expect_eq("--locks=fu completes to", complete("forktrace", "--locks", "=", "fu"), ["futex"])
    expect_eq("--format=", complete("forktrace", "--format", "="), ["human", "json", "influx"])
    expect_eq("--stacks=", complete("forktrace", "--stacks", "="), ["hazards", "all", "off"])
    expect_eq("--python=", complete("forktrace", "--python", "="), ["on", "off"])
    every = set(complete("forktrace", "-"))
    want = {o + "=" if o in ("--locks", "--format", "--stacks", "--grace", "--scan-limit", "--influx",
                             "--fail-on", "--python", "--report", "--stack-size",
                             "--stack-threads", "--scan-threads", "--scan-queue") else o
            for o in help_options()}
    expect(want <= every, f"options not completed: {sorted(want - every)}")
    subs = complete("forktrace", "")
    expect({"check", "diagnose"} <= set(subs), f"subcommands completed: {subs}")


def test_completion_of_pids_by_number_and_name():
    """-p PID: the pids starting with what is typed, or of processes whose name starts so."""
    me = str(os.getpid())
    expect(me in complete("forktrace", "-p", me[:-1]), f"-p {me[:-1]} does not offer {me}")
    with open(f"/proc/{me}/comm") as f:
        comm = f.read().strip()
    expect(me in complete("forktrace", "-p", comm[:3]), f"-p {comm[:3]} does not offer {me} ({comm})")
    expect(f"1,{me}" in complete("forktrace", "-p", f"1,{comm[:3]}"), "no pid after a comma")
    expect(me in complete("forktrace", "diagnose", me), f"diagnose {me} does not offer {me}")
